import { readFile } from "node:fs/promises";
import type { Connection } from "../../provider/connection";
import { daemonConfig } from "../../provider/resources/daemon-config-resource";
import { startDaemonRestarter } from "../../test/support/daemon-restarter";
import type { DockerSandbox } from "../../test/support/docker-sandbox";

/** What the step prints with, and how it reports the SSH commands and reachability. */
export interface StepOutput {
  /** Prints a line. */
  readonly say: (text: string) => void;
  /** Prints a step heading. */
  readonly heading: (text: string) => void;
  /** Says how many commands went over SSH since it was last asked. */
  readonly commands: () => Promise<string>;
  /** Prints which client reaches the page on 8080 over which family. */
  readonly showReach: () => Promise<void>;
}

/**
 * The DaemonConfig part of the demo, on the sandbox's daemon over SSH:
 * `ip: 127.0.0.1` in the daemon's config file (the one the lab started it
 * with), restarted by a command the demo provides (the daemon belongs to
 * this process, not to systemd). Shows the plan and its impact, the file's
 * diff, where a new `-p 8080:80` is DNATed after the restart, and destroy
 * putting the file back. Always stops its restarter; `numbers` are the
 * headings' step numbers.
 */
export async function daemonConfigStep(sandbox: DockerSandbox, connection: Connection, out: StepOutput, numbers: readonly [number, number, number]): Promise<void> {
  const { say, heading, commands } = out;
  const file = sandbox.daemon.configFile;
  const restarter = await startDaemonRestarter(sandbox.daemon);
  try {
    const original = await readFile(file, "utf8");
    const args = { connection, path: file, dockerHost: sandbox.daemon.host, ip: "127.0.0.1", restart: "if-changed", restartCommand: [...restarter.command] };

    heading(`${numbers[0]}. pulumi preview of a DaemonConfig: "ip": "127.0.0.1" in ${file}, restart if-changed`);
    const { inputs, failures } = await daemonConfig.check({}, args);
    if (failures.length > 0) throw new Error(`DaemonConfig: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    say(`+ DaemonConfig "localhost-only" (checked without touching the host), impact:\n    ${(inputs.impact as string[]).join("\n    ")}`);
    say(await commands());

    heading(`${numbers[1]}. pulumi up: the file gets "ip", the daemon is restarted, a new -p 8080:80 is published on 127.0.0.1 only`);
    const { id, outs } = await daemonConfig.create(inputs);
    say(`${file}:\n${lineDiff(original, await readFile(file, "utf8"))}`);
    say(`daemon restarted ${restarter.restarts()} time(s); restartRequired: ${String(outs.restartRequired)}; previous: ${JSON.stringify(outs.previous)}`);
    say(await commands());
    // The restart stopped the containers (no live-restore): publish the web port again.
    await sandbox.daemon.docker(["rm", "-f", "web"]);
    await sandbox.daemon.runHttpd("web", "8080:80");
    await showDnat(sandbox, say);
    const { props } = await daemonConfig.read(id, outs);
    say(`refresh: the daemon publishes on ${JSON.stringify((props.effective as { publishedOn: string[] }).publishedOn)}; drift: ${JSON.stringify(props.drift)}`);
    say(await commands());
    await out.showReach();

    heading(`${numbers[2]}. pulumi destroy of the DaemonConfig: the file as it was, the daemon restarted, 8080 published on every address again`);
    await daemonConfig.delete(id, props);
    const restored = await readFile(file, "utf8");
    say(`${file}: ${restored === original ? "byte for byte as before" : `changed:\n${lineDiff(original, restored)}`}`);
    say(`daemon restarted ${restarter.restarts()} time(s) in all`);
    say(await commands());
    await sandbox.daemon.docker(["rm", "-f", "web"]);
    await sandbox.daemon.runHttpd("web", "8080:80");
    await showDnat(sandbox, say);
    await out.showReach();
  } finally {
    await restarter.stop();
  }
}

/** Prints Docker's IPv4 DNAT rules for 8080: their `-d` is the address the port is published on. */
async function showDnat(sandbox: DockerSandbox, say: (text: string) => void): Promise<void> {
  const nat = await sandbox.target.run(["iptables-save", "-t", "nat"]);
  const rules = nat.split("\n").filter((l) => l.startsWith("-A DOCKER ") && l.includes("--dport 8080 ") && l.includes("-j DNAT"));
  say(`Docker's DNAT for 8080:${rules.length === 0 ? " (none)" : ""}`);
  for (const r of rules) say(`  nat: ${r}`);
}

/** A line diff of two small texts (longest common subsequence): unchanged lines indented, others marked - and +. */
function lineDiff(before: string, after: string): string {
  const a = before.replace(/\n$/, "").split("\n");
  const b = after.replace(/\n$/, "").split("\n");
  const common: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push(`    ${a[i]}`);
      i++;
      j++;
    } else if (i < a.length && (j === b.length || common[i + 1][j] >= common[i][j + 1])) {
      lines.push(`  - ${a[i++]}`);
    } else {
      lines.push(`  + ${b[j++]}`);
    }
  }
  return lines.join("\n");
}
