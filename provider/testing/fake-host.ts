import { FAMILIES, type Family } from "../family";
import { createHash } from "node:crypto";
import type { ApplyAnswer, ApplyRequest, FirewallProtocol, ProtocolHost, ReadOutput } from "../host-protocol";
import type { ExecResult } from "../host/host";
import { EMPTY_RULESET, parseSave, renderSave, type ChainDecl, type Ruleset, type SavedRule, type Table } from "../iptables/ruleset";
import { renderTokens, tokenize } from "../iptables/tokens";

const BUILTIN_TARGETS = new Set(["ACCEPT", "DROP", "REJECT", "RETURN", "LOG", "MASQUERADE", "DNAT", "SNAT"]);

/**
 * A stateful stand-in for a host, for fast unit tests of logic: it holds a
 * ruleset per family and speaks the firewall protocol (host-protocol.ts)
 * itself, the way the real scripts do — fingerprint check (answering a
 * conflict with the tables), `--test` of every family, then per family an
 * all-or-nothing restore of `-I`, `-A`, `-D` (by number or spec), `-N`,
 * `-X` and chain lines (rejecting bad positions and jumps to missing
 * chains), ipv4 taken back with the given undo input when ipv6 fails,
 * emptied tables dropped, then both rulesets read back. Real iptables is
 * tested elsewhere; this only has to agree with it on what the engine sends.
 */
export class FakeHost implements ProtocolHost {
  readonly name = "fake";
  /** Every firewall request, in order. */
  readonly calls: ("read" | "apply")[] = [];
  /** The host's firewall, as the engine's sessions reach it. */
  readonly firewall: FirewallProtocol = {
    read: async () => {
      this.calls.push("read");
      return this.tables();
    },
    apply: async (request) => {
      this.calls.push("apply");
      return this.apply(request);
    },
  };
  private state: Record<Family, Ruleset>;
  /** Runs before each apply (e.g. to simulate another process editing the chain). */
  beforeApply?: () => void;

  /**
   * @param initial each family's `iptables-save` text
   * @param behaviour how this host's iptables departs from the ideal
   */
  constructor(
    initial: Partial<Record<Family, string>> = {},
    private readonly behaviour: FakeIptablesBehaviour = {},
  ) {
    this.state = { ipv4: initial.ipv4 ? parseSave(initial.ipv4) : EMPTY_RULESET, ipv6: initial.ipv6 ? parseSave(initial.ipv6) : EMPTY_RULESET };
  }

  /** One family's ruleset as iptables-save would print it. */
  save(family: Family): string {
    return renderSave(this.state[family]);
  }

  /** Applies restore input to a family directly, as a hand edit would (throws when it fails). */
  edit(family: Family, restoreInput: string): void {
    this.state[family] = applyRestore(this.state[family], restoreInput);
  }

  /** The fake runs no command of its own: it speaks the firewall protocol only. */
  async exec(argv: readonly string[]): Promise<ExecResult> {
    return { code: 127, stdout: "", stderr: `fake host: ${argv[0]}: not found\n` };
  }

  async readFile(): Promise<string | undefined> {
    return undefined;
  }

  async writeFile(): Promise<void> {
    throw new Error("fake host: files are not supported");
  }

  async close(): Promise<void> {}

  /** Both families' tables and fingerprints, and the listening sockets. */
  private tables(): ReadOutput {
    const part = (f: Family) => (f === "ipv6" && this.behaviour.ipv6Unavailable ? { save: "" } : { save: renderSave(this.state[f]), fingerprint: fingerprint(this.state[f]) });
    return { ipv4: part("ipv4"), ipv6: part("ipv6"), listeners: this.behaviour.listeners ?? "", nft: { status: "missing", tables: {}, fingerprint: "" } };
  }

  private apply({ fingerprints, work }: ApplyRequest): ApplyAnswer {
    this.beforeApply?.();
    const touched = (f: Family) => work[f].restore !== "" || work[f].dropTables.length > 0;
    if (FAMILIES.some((f) => touched(f) && fingerprint(this.state[f]) !== fingerprints[f])) return { outcome: "conflict", tables: this.tables() };
    for (const f of FAMILIES) {
      try {
        if (work[f].restore !== "") applyRestore(this.state[f], work[f].restore, this.behaviour);
      } catch (error) {
        return { outcome: "rejected", family: f, code: 1, stderr: `${(error as Error).message}\n` };
      }
    }
    for (const f of FAMILIES) {
      if (work[f].restore === "") continue;
      try {
        this.state[f] = applyRestore(this.state[f], work[f].restore, this.behaviour, true);
      } catch (error) {
        const stderr = `${(error as Error).message}\n`;
        if (f === "ipv6" && work.undoIpv4 !== "") {
          try {
            this.state.ipv4 = applyRestore(this.state.ipv4, work.undoIpv4, this.behaviour, true);
          } catch (undoError) {
            return { outcome: "failed", what: "ip6tables-restore failed, and taking ipv4's part back failed too", code: 1, stderr: `${stderr}${(undoError as Error).message}\n` };
          }
        }
        return { outcome: "failed", family: f, what: `${f === "ipv4" ? "iptables" : "ip6tables"}-restore failed after its test passed`, code: 1, stderr };
      }
    }
    for (const f of FAMILIES) this.state[f] = { ...this.state[f], tables: this.state[f].tables.filter((t) => !(work[f].dropTables.some((name) => name === t.name) && isEmptyTable(t))) };
    return { outcome: "applied", tables: this.tables() };
  }
}

/** Whether the real script would drop a filter table: no rule, no chain of its own, no DROP policy. */
function isEmptyTable(table: Table): boolean {
  return table.rules.length === 0 && table.chains.every((c) => c.policy !== "-" && c.policy !== "DROP");
}

/** The fake's fingerprint: the same lines the real script hashes (tables, and the filter and mangle tables' DOCKER-USER, INPUT and FORWARD). */
function fingerprint(ruleset: Ruleset): string {
  const watched = ["DOCKER-USER", "INPUT", "FORWARD"];
  const lines = ruleset.tables.flatMap((t) => [
    `*${t.name}`,
    ...(t.name !== "filter" && t.name !== "mangle" ? [] : [...t.chains.filter((c) => watched.includes(c.name)).map((c) => `:${c.name} ${c.policy}`), ...t.rules.filter((r) => watched.includes(r.chain)).map((r) => renderTokens(r.tokens))]),
  ]);
  return createHash("sha256").update(lines.map((l) => `${l}\n`).join("")).digest("hex");
}

/** How a fake host's iptables departs from the ideal, to test the engine's handling of it. */
export interface FakeIptablesBehaviour {
  /** Restore lines matching it are refused, as iptables refuses a rule it cannot load. */
  readonly rejects?: RegExp;
  /** Restore lines matching it pass `--test` but are refused when applied, as the kernel refuses some rules userspace accepts. */
  readonly kernelRejects?: RegExp;
  /** Rewrites a rule's words as it is stored, as iptables prints some rules otherwise than they were typed. */
  readonly printsAs?: (line: string) => string;
  /** ip6tables cannot be used (IPv6 disabled, or the tool missing). */
  readonly ipv6Unavailable?: boolean;
  /** What `ss -Hltunp` prints on this host. */
  readonly listeners?: string;
}

/**
 * Applies `iptables-restore --noflush` input to a ruleset, all or nothing.
 * `committing` is false for `--test`, true for the real restore (which the
 * kernel may refuse: see {@link FakeIptablesBehaviour.kernelRejects}).
 */
export function applyRestore(ruleset: Ruleset, input: string, behaviour: FakeIptablesBehaviour = {}, committing = false): Ruleset {
  const tables = ruleset.tables.map((t) => ({ ...t, chains: [...t.chains], rules: [...t.rules] }));
  let table: (typeof tables)[number] | undefined;
  input.split("\n").forEach((line, index) => {
    const fail = (why: string): never => {
      throw new Error(`iptables-restore: line ${index + 1} failed: ${why}`);
    };
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith("*")) {
      table = tables.find((t) => t.name === line.slice(1));
      if (!table) tables.push((table = { name: line.slice(1), preamble: [], chains: builtinChains(line.slice(1)), rules: [] }));
      return;
    }
    if (!table) return fail("no table");
    if (line === "COMMIT") return void (table = undefined);
    const t = table;
    if (line.startsWith(":")) {
      const name = line.slice(1).split(" ")[0];
      if (t.chains.some((c) => c.name === name)) t.rules = t.rules.filter((r) => r.chain !== name);
      else t.chains.push({ name, policy: "-", counters: "[0:0]" });
      return;
    }
    if (behaviour.rejects?.test(line)) return fail("rule rejected");
    if (committing && behaviour.kernelRejects?.test(line)) return fail("RULE_INSERT failed (Invalid argument)");
    const words = tokenize(behaviour.printsAs ? behaviour.printsAs(line) : line, index + 1);
    const [op, chain] = [words[0]?.text, words[1]?.text ?? ""];
    if (op === "-N") {
      if (t.chains.some((c) => c.name === chain)) return fail(`chain ${chain} already exists`);
      t.chains.push({ name: chain, policy: "-", counters: "[0:0]" });
      return;
    }
    if (!t.chains.some((c) => c.name === chain)) return fail(`no chain ${chain}`);
    const indexes = t.rules.flatMap((r, i) => (r.chain === chain ? [i] : []));
    if (op === "-X") {
      const referenced = t.rules.some((r) => r.tokens.some((w, i) => (w.text === "-j" || w.text === "-g") && r.tokens[i + 1]?.text === chain));
      if (indexes.length > 0 || referenced) return fail(`chain ${chain} is not empty or still referenced`);
      t.chains = t.chains.filter((c) => c.name !== chain);
      return;
    }
    if (op === "-D" && !/^\d+$/.test(words[2]?.text ?? "")) {
      const spec = renderTokens(words.slice(2));
      const at = indexes.find((i) => renderTokens(t.rules[i].tokens.slice(2)) === spec);
      if (at === undefined) return fail("rule to delete does not exist");
      t.rules.splice(at, 1);
      return;
    }
    const indexFor = (n: number) => (n <= indexes.length ? indexes[n - 1] : indexes.length > 0 ? indexes[indexes.length - 1] + 1 : insertionPoint(t, chain));
    const numbered = (op === "-I" || op === "-D") && /^\d+$/.test(words[2]?.text ?? "");
    const n = numbered ? Number(words[2].text) : op === "-A" ? indexes.length + 1 : 1;
    if (op === "-D") {
      if (!numbered || n < 1 || n > indexes.length) return fail("index of deletion too big");
      t.rules.splice(indexes[n - 1], 1);
      return;
    }
    if (op !== "-A" && op !== "-I") return fail(`unsupported ${op}`);
    if (n < 1 || n > indexes.length + 1) return fail("index of insertion too big");
    const rest = words.slice(numbered ? 3 : 2);
    const target = rest[rest.findIndex((w) => w.text === "-j") + 1]?.text;
    if (target && !BUILTIN_TARGETS.has(target) && !t.chains.some((c) => c.name === target)) return fail(`no chain/target ${target}`);
    t.rules.splice(indexFor(n), 0, { chain, tokens: [{ text: "-A", quoted: false }, { text: chain, quoted: false }, ...rest] });
  });
  return { ...ruleset, tables: tables as Table[] };
}

/** Where a chain's first rule goes: after the rules of every chain declared before it (save order). */
function insertionPoint(table: { chains: readonly ChainDecl[]; rules: readonly SavedRule[] }, chain: string): number {
  const before = new Set(table.chains.slice(0, table.chains.findIndex((c) => c.name === chain)).map((c) => c.name));
  let point = 0;
  table.rules.forEach((r, i) => {
    if (before.has(r.chain)) point = i + 1;
  });
  return point;
}

function builtinChains(table: string): ChainDecl[] {
  const names =
    table === "nat" ? ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] : table === "mangle" ? ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"] : ["INPUT", "FORWARD", "OUTPUT"];
  return names.map((name) => ({ name, policy: "ACCEPT", counters: "[0:0]" }));
}
