import type { Family } from "../family";
import { complement, parsePrefix, toPrefixes, union, type AddressSet } from "../exposure/address-set";
import type { CanReachAnswer } from "../exposure/can-reach";
import type { DecidingRule } from "../exposure/chain-walk";
import type { ExposureEntry } from "../exposure/exposure";

/** How the CLI prints answers for people (`--json` prints the data as it is). */

/** A deciding rule in a few words: `filter DOCKER-USER #2: -A DOCKER-USER -j DROP`. */
export function ruleText(rule: DecidingRule | undefined): string {
  if (!rule) return "-";
  return `${rule.table} ${rule.chain} ${rule.position === 0 ? "policy" : `#${rule.position}`}: ${rule.text}`;
}

/** `can-reach`'s one line: the verdict, the path and the rule that decided. */
export function canReachLine(answer: CanReachAnswer): string {
  const verdict = answer.reachable === true ? "reachable" : answer.reachable === false ? "blocked" : "unknown";
  const path = answer.path ?? "no path";
  return `${verdict} (${path}) — ${answer.decidedBy ? ruleText(answer.decidedBy) : answer.reason}`;
}

/** The exposure report as an aligned table: one row per port, family, interface and answer. */
export function exposureTable(entries: readonly ExposureEntry[]): string {
  const header = ["PORT", "FAMILY", "BOUND ON", "PATH", "REACHABLE FROM", "DECIDING RULE"];
  const rows: string[][] = [];
  for (const e of entries) {
    for (const part of e.parts) {
      const verdict = part.reachable === true ? "" : part.reachable === false ? "blocked: " : "unknown: ";
      const on = part.inInterface === null ? "" : ` on ${part.inInterface}`;
      rows.push([`${e.portRange ?? e.port}/${e.protocol}`, e.family, e.boundOn, part.path ?? "-", `${verdict}${summarise(part.sources, e.family)}${on}`, part.decidedBy ? ruleText(part.decidedBy) : part.reason]);
    }
  }
  if (rows.length === 0) return "No published port and no listening socket found.";
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === header.length - 1 ? 0 : r[i].length))));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")).join("\n");
}

/** How many prefixes a table cell shows before it says how many more there are. */
const SHOWN_PREFIXES = 4;

/** Source prefixes for a table cell: `anywhere`, `anywhere except …` when that is shorter, else the first few. */
function summarise(sources: readonly string[], family: Family): string {
  const set = sources.reduce<AddressSet>((all, p) => union(all, parsePrefix(p, family) ?? []), []);
  const others = toPrefixes(complement(set, family), family);
  if (others.length === 0) return "anywhere";
  const [word, shown] = others.length < sources.length ? ["anywhere except ", others] : ["", sources];
  const listed = shown.slice(0, SHOWN_PREFIXES).join(", ");
  return `${word}${listed}${shown.length > SHOWN_PREFIXES ? ` (+${shown.length - SHOWN_PREFIXES} more)` : ""}`;
}
