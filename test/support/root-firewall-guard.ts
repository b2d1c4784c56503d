import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Jest's global setup and teardown: every test works in network namespaces
 * of its own, and this proves it. It records this machine's own firewall
 * (root namespace, both families, nf_tables and legacy) before the run and
 * fails the run if it is any different afterwards.
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

/** Records the root namespace's firewall (jest `globalSetup`). */
export async function setup(): Promise<void> {
  writeFileSync(RECORD, JSON.stringify(rootFirewall()));
}

/** Fails the run if the root namespace's firewall changed (jest `globalTeardown`). */
export async function teardown(): Promise<void> {
  const before = JSON.parse(readFileSync(RECORD, "utf8")) as Record<string, string>;
  rmSync(RECORD, { force: true });
  const after = rootFirewall();
  const changed = SAVES.filter((s) => before[s] !== after[s]);
  if (changed.length > 0) throw new Error(`the tests changed this machine's own firewall (${changed.join(", ")}); every test must work in namespaces of its own`);
}
