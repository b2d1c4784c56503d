import { FAMILIES, type Family } from "../family";
import { createHash } from "node:crypto";
import { APPLY_EXIT, applyCommand, readCommand } from "../host-scripts";
import type { ExecOptions, ExecResult, Host } from "../host/host";
import { EMPTY_RULESET, parseSave, renderSave, type ChainDecl, type Ruleset, type SavedRule, type Table } from "../iptables/ruleset";
import { renderTokens, tokenize } from "../iptables/tokens";

const BUILTIN_TARGETS = new Set(["ACCEPT", "DROP", "REJECT", "RETURN", "LOG", "MASQUERADE", "DNAT", "SNAT"]);

/**
 * A stateful stand-in for a host, for fast unit tests of logic: it holds a
 * ruleset per family and answers the engine's read and apply commands the
 * way the real scripts do — fingerprint check (answering a conflict with
 * the tables), `--test` of every family, then per family an all-or-nothing
 * restore of `-I`, `-A`, `-D` (by number or spec), `-N`, `-X` and chain
 * lines (rejecting bad positions and jumps to missing chains), ipv4 taken
 * back with the given undo input when ipv6 fails, then both rulesets
 * printed back. Real iptables is tested
 * elsewhere; this only has to agree with it on what the engine sends.
 */
export class FakeHost implements Host {
  readonly name = "fake";
  /** Every argv run, in order. */
  readonly commands: string[][] = [];
  private state: Record<Family, Ruleset>;
  /** Runs before each apply command (e.g. to simulate another process editing the chain). */
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

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.commands.push([...argv]);
    if (argv[2] === readCommand("auto").argv[2]) return { code: 0, stdout: this.print(), stderr: "" };
    if (argv[2] === applyCommand("auto", { ipv4: "", ipv6: "" }).argv[2]) return this.apply(argv, options.stdin ?? "");
    return { code: 127, stdout: "", stderr: `fake host: ${argv[0]}: not found\n` };
  }

  async readFile(): Promise<string | undefined> {
    return undefined;
  }

  async writeFile(): Promise<void> {
    throw new Error("fake host: files are not supported");
  }

  async close(): Promise<void> {}

  /** Both families' tables and fingerprints, and the listening sockets, as the read command prints them. */
  private print(): string {
    const tail = (f: Family) => (f === "ipv6" && this.behaviour.ipv6Unavailable ? "#@pdf unavailable\n" : `${renderSave(this.state[f])}#@pdf fingerprint ${fingerprint(this.state[f])}\n`);
    return FAMILIES.map((f) => `#@pdf ${f}\n${tail(f)}`).join("") + `#@pdf listeners\n${this.behaviour.listeners ?? ""}`;
  }

  private apply(argv: readonly string[], stdin: string): ExecResult {
    this.beforeApply?.();
    const inputs = splitInput(stdin);
    const expected: Record<Family, string> = { ipv4: argv[6], ipv6: argv[7] };
    const dropsOf = (f: Family) => (inputs[`drop${f.slice(3)}`] ?? "").split("\n").filter(Boolean);
    const drops = FAMILIES.filter((f) => dropsOf(f).length > 0);
    for (const f of FAMILIES) {
      if ((inputs[f] !== undefined || drops.includes(f)) && fingerprint(this.state[f]) !== expected[f]) return { code: APPLY_EXIT.conflict, stdout: this.print(), stderr: "" };
    }
    for (const f of FAMILIES) {
      try {
        if (inputs[f] !== undefined) applyRestore(this.state[f], inputs[f]!, this.behaviour);
      } catch (error) {
        return { code: APPLY_EXIT.rejected[f], stdout: "", stderr: `${(error as Error).message}\n` };
      }
    }
    for (const f of FAMILIES) {
      if (inputs[f] === undefined) continue;
      try {
        this.state[f] = applyRestore(this.state[f], inputs[f]!, this.behaviour, true);
      } catch (error) {
        const stderr = `${(error as Error).message}\n`;
        if (f === "ipv6" && inputs.undo4 !== undefined) {
          try {
            this.state.ipv4 = applyRestore(this.state.ipv4, inputs.undo4, this.behaviour, true);
          } catch (undoError) {
            return { code: APPLY_EXIT.rollbackFailed, stdout: "", stderr: `${stderr}${(undoError as Error).message}\n` };
          }
        }
        return { code: APPLY_EXIT.failed[f], stdout: "", stderr };
      }
    }
    for (const f of drops) this.state[f] = { ...this.state[f], tables: this.state[f].tables.filter((t) => !(dropsOf(f).includes(t.name) && isEmptyTable(t))) };
    return { code: 0, stdout: this.print(), stderr: "" };
  }
}

/** The apply command's input, by section (`ipv4`, `ipv6`, `drop4`, `drop6`). */
function splitInput(stdin: string): Partial<Record<string, string>> {
  const parts = stdin.split(/^#@pdf ([a-z0-9]+)\n/m);
  const out: Partial<Record<string, string>> = {};
  for (let i = 1; i < parts.length; i += 2) out[parts[i]] = parts[i + 1];
  return out;
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
