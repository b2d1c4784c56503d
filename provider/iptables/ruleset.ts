import { SaveParseError } from "../errors";
import { closingQuote, renderTokens, tokenize, type Token } from "./tokens";

/** A `:NAME POLICY [packets:bytes]` line. */
export interface ChainDecl {
  readonly name: string;
  /** `ACCEPT`/`DROP` for built-in chains, `-` for user chains. */
  readonly policy: string;
  /** The counters as printed, e.g. `[0:0]`. */
  readonly counters: string;
}

/** One `-A` line of a table. */
export interface SavedRule {
  /** The chain it is appended to. */
  readonly chain: string;
  /** Its words; `renderTokens(tokens)` gives the line back. */
  readonly tokens: readonly Token[];
  /** `[packets:bytes]` when saved with `-c`. */
  readonly counters?: string;
  /** The `-A …` line exactly as iptables-save printed it, when the rule was parsed from saved text (then `ruleLine` needs no tokens). */
  readonly line?: string;
}

/**
 * A rule parsed from saved text: its words are split on first use, since a
 * big host (a Kubernetes node) saves tens of thousands of rules of which the
 * engine looks into a few hundred.
 */
class ParsedRule implements SavedRule {
  readonly #lineNumber: number;
  #tokens?: readonly Token[];

  constructor(
    readonly chain: string,
    readonly line: string,
    lineNumber: number,
    readonly counters?: string,
  ) {
    this.#lineNumber = lineNumber;
  }

  get tokens(): readonly Token[] {
    return (this.#tokens ??= tokenize(this.line, this.#lineNumber));
  }
}

/** One `*table … COMMIT` block. */
export interface Table {
  readonly name: string;
  /** Comment and blank lines printed before `*name`. */
  readonly preamble: readonly string[];
  readonly chains: readonly ChainDecl[];
  readonly rules: readonly SavedRule[];
}

/** A whole `iptables-save` (or `ip6tables-save`) output. */
export interface Ruleset {
  readonly tables: readonly Table[];
  /** Comment lines after the last COMMIT (e.g. iptables-nft's warnings). */
  readonly trailer: readonly string[];
  /** Whether the text ended with a newline. */
  readonly finalNewline: boolean;
}

/** The empty ruleset: what a host with no rules at all saves. */
export const EMPTY_RULESET: Ruleset = { tables: [], trailer: [], finalNewline: true };

/**
 * Parses `iptables-save` output: tables, chain declarations with policies
 * and counters, rules (optionally with `-c` counters) with quoted strings,
 * and the comment lines iptables prints around them.
 */
export function parseSave(text: string): Ruleset {
  const lines = text.split("\n");
  const finalNewline = lines[lines.length - 1] === "";
  if (finalNewline) lines.pop();
  const tables: Table[] = [];
  let pending: string[] = [];
  let current: { name: string; preamble: string[]; chains: ChainDecl[]; rules: SavedRule[] } | undefined;
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (current === undefined) {
      if (line.startsWith("*")) current = { name: line.slice(1), preamble: pending, chains: [], rules: [] };
      else if (line === "" || line.startsWith("#")) pending.push(line);
      else throw new SaveParseError(lineNumber, line, "expected `*table` or a comment");
      if (current) pending = [];
      return;
    }
    if (line === "COMMIT") {
      tables.push(current);
      current = undefined;
    } else if (line.startsWith(":")) {
      const m = /^:(\S+) (\S+) (\[\d+:\d+\])$/.exec(line);
      if (!m) throw new SaveParseError(lineNumber, line, "malformed chain declaration");
      current.chains.push({ name: m[1], policy: m[2], counters: m[3] });
    } else if (line.startsWith("-A ") || line.startsWith("[")) {
      current.rules.push(parseRuleLine(line, lineNumber));
    } else if (!line.startsWith("#")) {
      throw new SaveParseError(lineNumber, line, "expected a chain, a rule or COMMIT");
    }
  });
  if (current) throw new SaveParseError(lines.length, "", `table ${current.name} has no COMMIT`);
  return { tables, trailer: pending, finalNewline };
}

/**
 * Parses a rule line. Its words are split later (see {@link ParsedRule}),
 * but what would make that fail is found now; a line iptables-save would not
 * print (two spaces in a row, a trailing space) is split at once, so that
 * `ruleLine` gives it back normalised, as before.
 */
function parseRuleLine(line: string, lineNumber: number): SavedRule {
  const m = /^(\[\d+:\d+\]) (.*)$/.exec(line);
  const text = m ? m[2] : line;
  const chain = /^-A ([^ "]+)(?: |$)/.exec(text)?.[1];
  if (chain === undefined || text.includes("  ") || text.endsWith(" ")) {
    const tokens = tokenize(text, lineNumber);
    if (tokens.length < 2 || tokens[0].text !== "-A") throw new SaveParseError(lineNumber, line, "expected `-A CHAIN`");
    return m ? { chain: tokens[1].text, tokens, counters: m[1] } : { chain: tokens[1].text, tokens };
  }
  for (let open = text.indexOf(' "'); open >= 0; open = text.indexOf(' "', open)) {
    open = closingQuote(text, open + 1);
    if (open < 0) throw new SaveParseError(lineNumber, text, "unterminated quoted string");
  }
  return new ParsedRule(chain, text, lineNumber, m?.[1]);
}

/** Prints a ruleset the way iptables-save does; `renderSave(parseSave(t)) === t`. */
export function renderSave(ruleset: Ruleset): string {
  const out: string[] = [];
  for (const table of ruleset.tables) {
    out.push(...table.preamble, `*${table.name}`);
    for (const c of table.chains) out.push(`:${c.name} ${c.policy} ${c.counters}`);
    for (const r of table.rules) out.push(r.counters ? `${r.counters} ${ruleLine(r)}` : ruleLine(r));
    out.push("COMMIT");
  }
  out.push(...ruleset.trailer);
  return out.join("\n") + (ruleset.finalNewline && out.length > 0 ? "\n" : "");
}

/** The `-A …` text of a saved rule (without counters). */
export function ruleLine(rule: SavedRule): string {
  return rule.line ?? renderTokens(rule.tokens);
}

/** A table by name, if the host has it. */
export function findTable(ruleset: Ruleset, name: string): Table | undefined {
  return ruleset.tables.find((t) => t.name === name);
}

/** Whether a table declares a chain. */
export function hasChain(table: Table | undefined, chain: string): boolean {
  return table?.chains.some((c) => c.name === chain) ?? false;
}

/** The rules of one chain, in order. */
export function chainRules(table: Table | undefined, chain: string): SavedRule[] {
  return table?.rules.filter((r) => r.chain === chain) ?? [];
}
