/**
 * A Pulumi program for the benchmarks (bench/provider-host-resources.ts,
 * bench/provider-host-vs-per-rule.ts): `count` DockerUserRules, `r001`,
 * `r002`, …, each dropping connections to published port 8000 + i, all on
 * the host named by the `ssh*` config, or on the machine the provider runs
 * on when `sshHost` is not set.
 */
import * as pulumi from "@pulumi/pulumi";
import * as dfw from "pulumi-docker-firewall";

const config = new pulumi.Config();
const count = config.getNumber("count") ?? 100;
const sshHost = config.get("sshHost");
const connection: dfw.ConnectionArgs | undefined = sshHost
  ? { host: sshHost, port: config.requireNumber("sshPort"), privateKey: config.requireSecret("sshPrivateKey"), hostKey: config.require("sshHostKey") }
  : undefined;

for (let i = 1; i <= count; i++) {
  new dfw.DockerUserRule(`r${String(i).padStart(3, "0")}`, {
    family: "ipv4",
    action: "DROP",
    protocol: "tcp",
    originalDestinationPort: 8000 + i,
    connection,
  });
}
