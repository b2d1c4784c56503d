import { FLAG_TABLE, PROTOCOL_MODULE, specFor, type MatchField } from "./flag-table";
import { renderTokens, saveString, type Token } from "./tokens";

/** A match value, as iptables-save prints it, and whether it is negated. */
export interface MatchValue {
  readonly value: string;
  readonly negated: boolean;
}

/**
 * A rule in structured form. Values are held exactly as iptables-save prints
 * them (`10.0.0.0/8`, `80,443`, `NEW,ESTABLISHED`), so two rules are equal
 * when their rendered lines are equal.
 */
export interface Rule {
  /** The chain it is appended to. */
  readonly chain: string;
  readonly matches: Readonly<Partial<Record<MatchField, MatchValue>>>;
  /** The `-j` target: `ACCEPT`, `DROP`, `REJECT`, `RETURN` or a chain. */
  readonly target: string;
  /** Words after the target, e.g. `--reject-with icmp-port-unreachable`. */
  readonly targetOptions: readonly string[];
}

/**
 * Renders a rule as the `-A` line iptables-save prints for it: header
 * matches, then each module once, then the target.
 */
export function renderRule(rule: Rule): string {
  const words = ["-A", rule.chain];
  let module: string | undefined;
  for (const spec of FLAG_TABLE) {
    const match = rule.matches[spec.field];
    if (!match) continue;
    const specModule = spec.module === PROTOCOL_MODULE ? rule.matches.protocol?.value : spec.module;
    if (specModule !== undefined && specModule !== module) {
      words.push("-m", specModule);
      module = specModule;
    }
    if (match.negated) words.push("!");
    words.push(spec.flag, spec.style === "string" ? saveString(match.value) : match.value);
  }
  words.push("-j", rule.target, ...rule.targetOptions);
  return words.join(" ");
}

/**
 * Reads the words of a `-A` line into a structured rule, walking the flag
 * table. Returns `undefined` for rules that use anything the table does not
 * know (most of Docker's and many foreign rules): those are kept as text.
 */
export function parseRule(tokens: readonly Token[]): Rule | undefined {
  if (tokens.length < 2 || tokens[0].text !== "-A") return undefined;
  const matches: Partial<Record<MatchField, MatchValue>> = {};
  let module: string | undefined;
  let negated = false;
  for (let i = 2; i < tokens.length; i++) {
    const word = tokens[i].text;
    if (word === "!" && !tokens[i].quoted) {
      negated = true;
      continue;
    }
    if (word === "-m") {
      module = tokens[++i]?.text;
      continue;
    }
    if (word === "-j") {
      if (negated || i + 1 >= tokens.length) return undefined;
      const target = tokens[i + 1].text;
      const targetOptions = tokens.slice(i + 2).map((t) => t.text);
      const rule: Rule = { chain: tokens[1].text, matches, target, targetOptions };
      // Only a rule that renders back to the same words is representable.
      return renderRule(rule) === renderTokens(tokens) ? rule : undefined;
    }
    const spec = specFor(word, module, matches.protocol?.value);
    const value = tokens[i + 1];
    if (!spec || !value || matches[spec.field] || (negated && !spec.negatable)) return undefined;
    matches[spec.field] = { value: value.text, negated };
    negated = false;
    i += 1;
  }
  return undefined;
}
