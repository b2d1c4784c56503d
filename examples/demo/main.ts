/**
 * `npm run demo`: the whole story on a disposable sandbox. A real dockerd
 * and sshd run in a network namespace with an httpd container published on
 * 8080, two client namespaces try to reach it, and the engine — the same
 * code `pulumi up` runs in its provider process — manages the sandbox's
 * DOCKER-USER over SSH: preview, up, a second preview with nothing to do, a
 * hand edit, refresh showing the drift, up repairing it, a recreated
 * container, destroy. Then a DaemonConfig on the same daemon: `ip:
 * 127.0.0.1` in its config file, a restart, a new container published on
 * 127.0.0.1 only, and destroy putting the file back. Then a locked-down
 * BridgeNetwork: Docker's rules for its bridge and ours, a container on it
 * reaching one client and not the other, and destroy. Everything it
 * creates is removed at the end, also on failure.
 */
import { FAMILIES } from "../../provider/family";
import { plan } from "../../provider/api";
import { publishedPort } from "../../provider/resources/published-port-resource";
import type { Props } from "../../provider/resources/rule-resource";
import type { Connection } from "../../provider/connection";
import { closeAllSessions } from "../../provider/sessions";
import { DockerSandbox, httpUrl } from "../../test/support/docker-sandbox";
import { startSandboxSshd, type SandboxSshd } from "../../test/support/sandbox-sshd";
import { daemonConfigStep } from "./daemon-config-step";
import { networkStep } from "./network-step";
import { declareResources, type Declared } from "./resources";

const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const heading = (text: string) => say(`\n\x1b[1m== ${text}\x1b[0m`);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the demo makes network namespaces and runs dockerd: run it as root");
  heading("1. A Docker host in a sandbox: dockerd and sshd in a network namespace, httpd published with -p 8080:80");
  const sandbox = await DockerSandbox.start({ clients: 2, ipv6: true });
  let sshd: SandboxSshd | undefined;
  try {
    await sandbox.daemon.runHttpd("web", "8080:80");
    sshd = await startSandboxSshd(sandbox.target);
    const connection: Connection = { host: sshd.address, port: sshd.port, privateKey: sshd.privateKey, hostKey: sshd.hostKey };
    const [office, outsider] = sandbox.clients;
    say(`the Docker host is reached over SSH at ${sshd.address}`);
    say(`client 0 (the office) is ${office.v4} / ${office.v6}; client 1 (anyone else) is ${outsider.v4} / ${outsider.v6}`);
    await showChain(sandbox);
    await showReach(sandbox);

    const declared = await declareResources(connection, office, sandbox.target.interfaces);
    const commands = counter(sshd);

    heading("2. pulumi preview");
    await showPlan(connection, declared);
    say(await commands());

    heading("3. pulumi up");
    await Promise.all(declared.map(async (d) => (d.outs = (await d.engine.create(d.inputs)).outs)));
    for (const d of declared) say(`${d.name}: created${d.outs!.published === undefined ? "" : `; Docker publishes it: ${JSON.stringify(pick(d.outs!, ["bindAddresses", "targets"]))}`}`);
    say(await commands());
    await showChain(sandbox);
    await showReach(sandbox);

    heading("4. pulumi preview again: nothing to do");
    await showPlan(connection, declared);
    say(await commands());

    heading("5. Someone edits DOCKER-USER by hand: deletes our first rule, inserts their own at the top");
    await sandbox.target.run(["iptables", "-D", "DOCKER-USER", "1"]);
    await sandbox.target.run(["iptables", "-I", "DOCKER-USER", "1", "-s", "198.51.100.99/32", "-j", "ACCEPT"]);
    await showChain(sandbox);

    heading("6. pulumi refresh: the drift");
    // Like Pulumi, the demo runs the resources' operations in parallel: they share one read and one transaction.
    await Promise.all(
      declared.map(async (d) => {
        const { id, props } = await d.engine.read(String(d.outs!.__owner), d.outs!);
        d.outs = id ? props : undefined;
      }),
    );
    for (const d of declared) {
      const drift = (d.outs?.drift as string[] | undefined) ?? [];
      say(`${d.name}: ${d.outs === undefined ? "gone" : drift.length === 0 ? "in sync" : `drifted:\n    ${drift.join("\n    ")}`}`);
    }
    say(await commands());

    heading("7. pulumi up: repairs our rules, leaves the hand-written one alone");
    await Promise.all(
      declared.map(async (d) => {
        const { changes } = d.outs ? await d.engine.diff(String(d.outs.__owner), d.outs, d.inputs) : { changes: true };
        if (!changes) return;
        const verb = d.outs ? "updated" : "created";
        d.outs = d.outs ? (await d.engine.update(String(d.outs.__owner), d.outs, d.inputs)).outs : (await d.engine.create(d.inputs)).outs;
        say(`${d.name}: ${verb}`);
      }),
    );
    say(await commands());
    await showChain(sandbox);

    heading("8. The container is recreated and gets a new address: the allowlist still holds");
    await sandbox.daemon.docker(["rm", "-f", "web"]);
    await sandbox.daemon.runHttpd("decoy", "9999:80");
    await sandbox.daemon.runHttpd("web", "8080:80");
    const port = declared.find((d) => d.engine === publishedPort)!;
    const { props } = await port.engine.read(String(port.outs!.__owner), port.outs!);
    say(`web's targets were ${JSON.stringify(port.outs!.targets)}, now ${JSON.stringify(props.targets)}`);
    say(await commands());
    await showReach(sandbox);

    heading("9. pulumi destroy: our rules go, Docker's and the hand-written one stay");
    await Promise.all(declared.map((d) => d.engine.delete(String(d.outs!.__owner), d.outs!)));
    say(await commands());
    await showChain(sandbox);
    await showReach(sandbox);

    const steps = { say, heading, commands, showReach: () => showReach(sandbox) };
    await daemonConfigStep(sandbox, connection, steps, [10, 11, 12]);
    await networkStep(sandbox, connection, steps, [13, 14, 15]);
  } finally {
    await closeAllSessions();
    await sshd?.stop();
    await sandbox.stop();
    say("\nsandbox removed");
  }
}

/** Prints what `up` would do: per family, the one iptables-restore transaction. */
async function showPlan(connection: Connection, declared: readonly Declared[]): Promise<void> {
  const planned = await plan({ connection }, declared.map((d) => ({ owner: String(d.inputs.__owner), rules: (snapshot) => d.rules(d.inputs, snapshot).rules })));
  if (FAMILIES.every((f) => planned.operations[f].length === 0)) {
    say("no changes");
    return;
  }
  for (const f of FAMILIES) {
    if (planned.restore[f] !== "") say(`${f === "ipv4" ? "iptables" : "ip6tables"}-restore --noflush <<EOF\n${planned.restore[f]}EOF`);
  }
  if (planned.nft !== "") say(`nft -f - <<EOF\n${planned.nft}EOF`);
}

/** Prints, per family and table, DOCKER-USER, the jumps to it, and our rules elsewhere (INPUT). */
async function showChain(sandbox: DockerSandbox): Promise<void> {
  for (const [tool, family] of [["iptables-save", "ipv4"], ["ip6tables-save", "ipv6"]] as const) {
    let table = "";
    const lines: string[] = [];
    for (const l of (await sandbox.target.run([tool])).split("\n")) {
      if (l.startsWith("*")) table = l.slice(1);
      else if (/^-A (DOCKER-USER |FORWARD (.* )?-j DOCKER-USER$)/.test(l) || (l.startsWith("-A ") && l.includes('"pdf:'))) lines.push(`  ${table}: ${l}`);
    }
    say(`${family} DOCKER-USER and our rules:${lines.length === 0 ? " (none)" : ""}`);
    for (const l of lines) say(l);
  }
}

async function showReach(sandbox: DockerSandbox): Promise<void> {
  const results = await Promise.all(
    sandbox.clients.flatMap((c, i) => [
      sandbox.fetch(i, httpUrl(c.targetV4, 8080), 2).then((body) => `client ${i} over IPv4: ${body ? "got the page" : "blocked"}`),
      sandbox.fetch(i, httpUrl(c.targetV6, 8080), 2).then((body) => `client ${i} over IPv6: ${body ? "got the page" : "blocked"}`),
    ]),
  );
  for (const r of results) say(`  ${r}`);
}

/** Says how many commands sshd ran since it was last asked. */
function counter(sshd: SandboxSshd): () => Promise<string> {
  let seen = 0;
  return async () => {
    const all = (await sshd.execs()).length;
    const text = `(${all - seen} command${all - seen === 1 ? "" : "s"} over SSH)`;
    seen = all;
    return text;
  };
}

function pick(props: Props, keys: readonly string[]): Props {
  return Object.fromEntries(keys.map((k) => [k, props[k]]));
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
