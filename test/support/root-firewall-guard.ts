import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

/**
 * Jest's global setup and teardown: every test works in network namespaces
 * of its own and removes them, and this proves it. It records this
 * machine's own firewall (root namespace, both families, nf_tables and
 * legacy) before the run, and fails the run if the firewall is any
 * different afterwards or a namespace of this run was left behind. Every
 * namespace of the run is named with the run's own prefix (`PDF_TEST_RUN`,
 * see `netns.ts`); the teardown cleans up only namespaces with that prefix,
 * never another run's or anybody else's.
 */

const SAVES = ["iptables-nft-save", "ip6tables-nft-save", "iptables-legacy-save", "ip6tables-legacy-save"];
const RECORD = join(tmpdir(), `pdf-root-firewall-${process.pid}.json`);

/** The root namespace's rules, without the timestamps and counters that change by themselves. */
function rootFirewall(): Record<string, string> {
  return Object.fromEntries(
    SAVES.map((save) => {
      const text = execFileSync(save, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      return [save, text.split("\n").filter((l) => !l.startsWith("#")).map((l) => l.replace(/ \[\d+:\d+\]$/, "")).join("\n")];
    }),
  );
}

/** The network namespaces that exist now. */
function namespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean);
}

/** Records the root namespace's firewall and names this run's namespaces (jest `globalSetup`; workers inherit the environment). */
export async function setup(): Promise<void> {
  process.env.PDF_TEST_RUN ??= `pdf${randomBytes(3).toString("hex")}`;
  writeFileSync(RECORD, JSON.stringify({ firewall: rootFirewall(), prefix: `${process.env.PDF_TEST_RUN}-` }));
}

/** Fails the run if the root namespace's firewall changed or a namespace was left behind (jest `globalTeardown`). */
export async function teardown(): Promise<void> {
  const before = JSON.parse(readFileSync(RECORD, "utf8")) as { firewall: Record<string, string>; prefix: string };
  rmSync(RECORD, { force: true });
  const after = rootFirewall();
  const changed = SAVES.filter((s) => before.firewall[s] !== after[s]);
  const left = namespaces().filter((n) => n.startsWith(before.prefix));
  // Processes a test left there (dockerd, sshd) go first, or the namespace would live on unnamed.
  for (const name of left) {
    const pids = execFileSync("ip", ["netns", "pids", name], { encoding: "utf8" }).split(/\s+/).filter(Boolean);
    if (pids.length > 0) execFileSync("kill", ["-9", ...pids]);
    execFileSync("ip", ["netns", "del", name]);
  }
  const problems = [
    ...(changed.length > 0 ? [`the tests changed this machine's own firewall (${changed.join(", ")}); every test must work in namespaces of its own`] : []),
    ...(left.length > 0 ? [`the tests left network namespaces behind (${left.join(", ")}; now deleted); a test's teardown must remove what it made`] : []),
  ];
  if (problems.length > 0) throw new Error(problems.join("\n"));
}
