import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Connection } from "../../provider/connection";
import { TAG_PREFIX } from "../../provider/ownership";
import { bridgeNetwork } from "../../provider/resources/bridge-network-resource";
import type { Props } from "../../provider/resources/rule-resource";
import { httpUrl, type DockerSandbox } from "../../test/support/docker-sandbox";
import type { StepOutput } from "./daemon-config-step";

/** The network the step declares, and the owner the SDK would derive for it (project/stack/kind/name). */
const NETWORK = "backend";
const BRIDGE = "br-backend";
const OWNER = "demo/dev/network/backend";
/** The container the step runs on the network, and the port each client's own httpd listens on. */
const CONTAINER = "api";
const CLIENT_PORT = 8080;

/**
 * The BridgeNetwork part of the demo, on the sandbox's daemon over SSH: a
 * locked-down network (`icc: false`, published ports on 127.0.0.1,
 * outbound to client 0 only) is created; Docker's rules for its bridge
 * and ours are shown; a container on it reaches client 0's httpd and not
 * client 1's; destroy removes the network and exactly our rules. Each
 * client runs a busybox httpd of its own, which dies with its namespace.
 * The network and its container are removed also when a step fails;
 * `numbers` are the headings' step numbers.
 */
export async function networkStep(sandbox: DockerSandbox, connection: Connection, out: StepOutput, numbers: readonly [number, number, number]): Promise<void> {
  const { say, heading, commands } = out;
  const pages = await mkdtemp(path.join(tmpdir(), "pdf-demo-pages-"));
  let created: { id: string; outs: Props } | undefined;
  try {
    for (const [i, client] of sandbox.clients.entries()) {
      await writeFile(path.join(pages, `${i}.html`), `client ${i}\n`);
      // busybox httpd goes to the background; it dies with the client's namespace.
      await client.ns.run(["busybox", "httpd", "-p", String(CLIENT_PORT), "-h", pages, "-c", "/dev/null"]);
    }
    const [allowed] = sandbox.clients;
    const args = { connection, __owner: OWNER, dockerHost: sandbox.daemon.host, networkName: NETWORK, bridgeName: BRIDGE, icc: false, hostBindingIpv4: "127.0.0.1", allowOutboundTo: [allowed.v4] };

    heading(`${numbers[0]}. pulumi up of a BridgeNetwork: "${NETWORK}", icc off, ports on 127.0.0.1, outbound to client 0 (${allowed.v4}) only`);
    const { inputs, failures } = await bridgeNetwork.check({}, args);
    if (failures.length > 0) throw new Error(`BridgeNetwork: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    created = await bridgeNetwork.create(inputs);
    say(`network ${NETWORK} created: id ${created.id.slice(0, 12)}, bridge ${String(created.outs.bridgeName)}, subnet ${String(created.outs.subnet)}`);
    say(await commands());
    say(`Docker's IPv4 rules for ${BRIDGE} (the dockerRules output):`);
    for (const [table, rules] of Object.entries((created.outs.dockerRules as { ipv4?: Record<string, string[]> }).ipv4 ?? {})) for (const r of rules) say(`  ${table}: ${r}`);
    await showOurs(sandbox, say);

    heading(`${numbers[1]}. A container on ${NETWORK} reaches client 0's httpd, not client 1's`);
    await sandbox.daemon.runHttpd(CONTAINER, "8090:80", { runArgs: ["--network", NETWORK] });
    for (const [i, client] of sandbox.clients.entries()) {
      const body = await containerFetches(sandbox, CONTAINER, `${httpUrl(client.v4, CLIENT_PORT)}/${i}.html`);
      say(`  ${CONTAINER} → client ${i} (${client.v4}): ${body ? "got the page" : "blocked"}`);
    }
    const { props } = await bridgeNetwork.read(created.id, created.outs);
    say(`refresh: drift ${JSON.stringify(props.drift)}`);
    say(await commands());

    heading(`${numbers[2]}. pulumi destroy of the BridgeNetwork: the network and our rules go`);
    await sandbox.daemon.docker(["rm", "-f", CONTAINER]);
    await bridgeNetwork.delete(created.id, created.outs);
    created = undefined;
    const left = (await sandbox.daemon.docker(["network", "ls", "--format", "{{.Name}}"])).split("\n").includes(NETWORK);
    say(`network ${NETWORK}: ${left ? "still there" : "gone"}`);
    say(await commands());
    await showOurs(sandbox, say);
  } catch (error) {
    // A step failed while the network existed: take it away, without hiding the failure.
    const left = created;
    if (left) {
      await sandbox.daemon.docker(["rm", "-f", CONTAINER]).catch(() => undefined);
      await bridgeNetwork.delete(left.id, left.outs).catch((cleanup: unknown) => {
        throw new AggregateError([error, cleanup], `the network step failed, and removing network ${NETWORK} failed too`);
      });
    }
    throw error;
  } finally {
    await rm(pages, { recursive: true, force: true });
  }
}

/** Prints our IPv4 rules for the network: those tagged with its owner. */
async function showOurs(sandbox: DockerSandbox, say: (text: string) => void): Promise<void> {
  const rules = (await sandbox.target.run(["iptables-save", "-t", "filter"])).split("\n").filter((l) => l.includes(`${TAG_PREFIX}${OWNER}:`));
  say(`our IPv4 rules for ${BRIDGE}:${rules.length === 0 ? " (none)" : ""}`);
  for (const r of rules) say(`  filter: ${r}`);
}

/** Whether container `name` gets a page from `url` (within 3 s). */
function containerFetches(sandbox: DockerSandbox, name: string, url: string): Promise<string | undefined> {
  return sandbox.daemon.docker(["exec", name, "/bin/busybox", "timeout", "3", "/bin/busybox", "wget", "-q", "-O", "-", url], { timeoutMs: 10_000 }).then(
    (body) => body,
    () => undefined,
  );
}
