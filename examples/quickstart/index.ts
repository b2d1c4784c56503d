/**
 * Quickstart: only the office may reach the container published on port
 * 8080 from outside, by the host port, whatever the container's address.
 *
 * With no config this manages the machine the program runs on; set
 * `sshHost` (and `sshUser`, `sshPrivateKey` as a secret) to manage a remote
 * Docker host instead.
 */
import * as pulumi from "@pulumi/pulumi";
import * as dfw from "pulumi-docker-firewall";

const config = new pulumi.Config();
const sshHost = config.get("sshHost");
const connection = sshHost
  ? { host: sshHost, user: config.get("sshUser") ?? "root", privateKey: config.getSecret("sshPrivateKey") }
  : undefined;

const officeOnly = new dfw.DockerUserRule("office-only-8080", {
  connection,
  priority: 100,
  action: "DROP",
  inInterface: config.get("externalInterface") ?? "eth0",
  protocol: "tcp",
  originalDestinationPort: 8080,
  source: config.get("officeNetwork") ? `!${config.get("officeNetwork")}` : "!192.168.0.0/24",
  comment: "only the office may reach 8080",
});

/** The rule as iptables-save prints it on the host. */
export const ruleText = officeOnly.ruleText;
