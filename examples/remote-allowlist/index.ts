/**
 * A remote Docker host reached over SSH: only the office and the VPN may
 * open connections to the web container published on 8080 (IPv4 and IPv6),
 * nobody from outside may reach the database published on 5432, and
 * replies are let through first.
 *
 * Config: `host`, `sshPrivateKey` (secret), `hostKey` (the server's public
 * key, to pin it), `externalInterface` (default eth0).
 *
 *     pulumi config set host 203.0.113.10
 *     pulumi config set --secret sshPrivateKey "$(cat ~/.ssh/id_ed25519)"
 *     pulumi config set hostKey "$(ssh-keyscan -t ed25519 203.0.113.10 | cut -d' ' -f2-)"
 */
import * as pulumi from "@pulumi/pulumi";
import * as dfw from "pulumi-docker-firewall";

const config = new pulumi.Config();
const connection = {
  host: config.require("host"),
  user: "root",
  privateKey: config.requireSecret("sshPrivateKey"),
  hostKey: config.require("hostKey"),
};
const externalInterface = config.get("externalInterface") ?? "eth0";

new dfw.DockerUserRule("replies-first", {
  connection,
  priority: 10,
  action: "ACCEPT",
  ctstate: ["RELATED", "ESTABLISHED"],
  comment: "replies first",
});

const web = new dfw.PublishedPort("web", {
  connection,
  hostPort: 8080,
  allowFrom: ["198.51.100.0/24", "2001:db8:100::/48", "203.0.113.7"],
  inInterface: externalInterface,
  comment: "office and VPN",
});

new dfw.PublishedPort("database", {
  connection,
  hostPort: 5432,
  allowFrom: [],
  inInterface: externalInterface,
  comment: "never from outside",
});

/** Where Docker publishes the web port, and the rules that guard it. */
export const webPublishedOn = web.bindAddresses;
export const webRules = web.ruleText;
