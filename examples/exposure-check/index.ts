/**
 * Closed by default, and checked: every port Docker publishes is closed to
 * outside clients unless allowed, the web port is allowed from the office,
 * and the deployment fails, naming the port, when any port of the host is
 * still reachable from everyone afterwards (another tool's rule, a
 * container published outside Docker's rules, a service on the host).
 *
 * With no config this reads and manages the machine the program runs on;
 * set `sshHost` (and `sshUser`, `sshPrivateKey` as a secret) for a remote
 * Docker host.
 */
import * as pulumi from "@pulumi/pulumi";
import * as dfw from "pulumi-docker-firewall";

const config = new pulumi.Config();
const sshHost = config.get("sshHost");
const connection = sshHost
  ? { host: sshHost, user: config.get("sshUser") ?? "root", privateKey: config.getSecret("sshPrivateKey") }
  : undefined;

const closed = new dfw.PublishedPortDefault("closed", { connection });

const web = new dfw.PublishedPort("web", {
  connection,
  hostPort: config.getNumber("webPort") ?? 8080,
  allowFrom: [config.get("officeNetwork") ?? "198.51.100.0/24"],
});

/** Who can reach each port of the host, read once the rules above are in place. */
const report = dfw.getExposure({ connection, dependsOn: [closed.id, web.id] });

/** The ports anyone can reach: the deployment fails when there is one, unless `allowOpenPorts` is set. */
export const openToEveryone = report.apply((entries) => {
  const open = dfw.openToEveryone(entries).map((e) => `${e.portRange ?? e.port}/${e.protocol} (${e.family}, on ${e.boundOn}, served by ${e.servedBy.join(", ") || "nothing"})`);
  if (open.length > 0 && !config.getBoolean("allowOpenPorts")) {
    throw new Error(`reachable from everyone: ${open.join("; ")}. Close them (a PublishedPort allowlist, or stop what serves them), or set allowOpenPorts to deploy anyway.`);
  }
  return open;
});

export const exposure = report;
