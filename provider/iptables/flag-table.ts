/**
 * The one table that knows how a rule field becomes iptables words and back.
 * Parsing, rendering and comparing rules all walk it. (Reading a rule's
 * target and comment out of any rule, ours or not, is done on its words in
 * chains.ts.)
 *
 * The order of the rows is the order `iptables-save` prints the fields of a
 * rule we wrote: the IP header matches in iptables' own fixed order, then our
 * modules in the order we add them (iptables-save keeps module order), and
 * inside a module the order its extension prints (checked against real
 * iptables, nf_tables and legacy, by the round-trip tests).
 */

/** Stands for "the module named like the rule's protocol" (`-m tcp`, `-m udp`). */
export const PROTOCOL_MODULE = "<protocol>";

/** A match field of the rule model. */
export type MatchField =
  | "source"
  | "destination"
  | "inInterface"
  | "outInterface"
  | "protocol"
  | "destinationPort"
  | "destinationPorts"
  | "sourceRange"
  | "destinationRange"
  | "ctstate"
  | "originalSource"
  | "originalDestination"
  | "originalDestinationPort"
  | "ctdir"
  | "comment";

/** How a field's value is printed. */
export type ValueStyle = "plain" | "string";

/** One row: a field, its flag, and the module it lives in. */
export interface FlagSpec {
  readonly field: MatchField;
  /** The flag as iptables-save prints it. */
  readonly flag: string;
  /** The `-m` module that must precede it; `undefined` for IP header matches. */
  readonly module?: string;
  /** Whether `!` may precede the flag. */
  readonly negatable: boolean;
  /** `string` values are quoted the way iptables-save quotes strings. */
  readonly style: ValueStyle;
}

/** Every field, in the order iptables-save prints it. */
export const FLAG_TABLE: readonly FlagSpec[] = [
  { field: "source", flag: "-s", negatable: true, style: "plain" },
  { field: "destination", flag: "-d", negatable: true, style: "plain" },
  { field: "inInterface", flag: "-i", negatable: true, style: "plain" },
  { field: "outInterface", flag: "-o", negatable: true, style: "plain" },
  { field: "protocol", flag: "-p", negatable: false, style: "plain" },
  { field: "destinationPort", flag: "--dport", module: PROTOCOL_MODULE, negatable: true, style: "plain" },
  { field: "destinationPorts", flag: "--dports", module: "multiport", negatable: true, style: "plain" },
  { field: "sourceRange", flag: "--src-range", module: "iprange", negatable: true, style: "plain" },
  { field: "destinationRange", flag: "--dst-range", module: "iprange", negatable: true, style: "plain" },
  { field: "ctstate", flag: "--ctstate", module: "conntrack", negatable: true, style: "plain" },
  { field: "originalSource", flag: "--ctorigsrc", module: "conntrack", negatable: true, style: "plain" },
  { field: "originalDestination", flag: "--ctorigdst", module: "conntrack", negatable: true, style: "plain" },
  { field: "originalDestinationPort", flag: "--ctorigdstport", module: "conntrack", negatable: true, style: "plain" },
  { field: "ctdir", flag: "--ctdir", module: "conntrack", negatable: false, style: "plain" },
  { field: "comment", flag: "--comment", module: "comment", negatable: false, style: "string" },
];

/** The row for a flag seen under a module (`undefined` module: header flags). */
export function specFor(flag: string, module: string | undefined, protocol: string | undefined): FlagSpec | undefined {
  return FLAG_TABLE.find(
    (s) =>
      s.flag === flag &&
      (s.module === undefined || s.module === module || (s.module === PROTOCOL_MODULE && module !== undefined && module === protocol)),
  );
}
