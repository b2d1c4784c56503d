/**
 * A locked-down backend network on a remote Docker host reached over SSH:
 * its containers cannot reach each other, may open connections to one
 * address only (`upstream`, e.g. the database), and the ports they publish
 * without an address bind to 127.0.0.1.
 *
 * Config: `host`, `sshPrivateKey` (secret), `hostKey` (the server's public
 * key, to pin it), `upstream` (the one address the containers may reach).
 *
 *     pulumi config set host 203.0.113.10
 *     pulumi config set --secret sshPrivateKey "$(cat ~/.ssh/id_ed25519)"
 *     pulumi config set hostKey "$(ssh-keyscan -t ed25519 203.0.113.10 | cut -d' ' -f2-)"
 *     pulumi config set upstream 198.51.100.10
 */
import * as pulumi from "@pulumi/pulumi";
import * as dfw from "pulumi-docker-firewall";

const config = new pulumi.Config();

const network = new dfw.BridgeNetwork("backend", {
  connection: {
    host: config.require("host"),
    user: "root",
    privateKey: config.requireSecret("sshPrivateKey"),
    hostKey: config.require("hostKey"),
  },
  networkName: "backend",
  bridgeName: "br-backend",
  icc: false,
  hostBindingIpv4: "127.0.0.1",
  allowOutboundTo: [config.require("upstream")],
});

/** The network as Docker made it, the rules Docker wrote for its bridge, and what the policy does not cover. */
export const networkId = network.networkId;
export const subnet = network.subnet;
export const dockerRules = network.dockerRules;
export const warnings = network.warnings;
