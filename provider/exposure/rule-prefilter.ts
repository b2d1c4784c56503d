import { EPHEMERAL_PORTS, type Packet, type PortRef } from "./packet";

/**
 * Prunes, from a rule's text alone (before it is split into words and
 * compiled), the rules that cannot match a packet because of their protocol
 * or destination port: on a big host most rules are someone else's
 * allowlist entries for other ports, and this keeps the walk from
 * compiling them. Only what is certain prunes: a word inside a quoted string
 * is never read, and anything unclear keeps the rule.
 */

/** What a rule's text says of the protocol and destination ports it needs, read once per rule. */
export interface RuleGuard {
  /** The protocol of a plain `-p` (not negated). */
  readonly protocol: string | undefined;
  /** Each destination-port option: its ranges and whether it is negated. */
  readonly ports: readonly { readonly ranges: readonly (readonly [number, number])[]; readonly negated: boolean }[];
}

/** The destination-port options of every module (`tcp`, `udp`, `multiport`, …). */
const PORT_OPTIONS = [" --dport ", " --dports ", " --destination-port ", " --destination-ports "];
/** Protocols whose packets the evaluator can tell apart from TCP and UDP ones. */
const PROTOCOLS = new Set(["tcp", "udp", "icmp", "ipv6-icmp", "icmpv6", "sctp"]);

/** Reads a rule's guard out of its `-A …` text. */
export function ruleGuard(line: string): RuleGuard {
  const quote = line.indexOf('"');
  const text = quote < 0 ? line : line.slice(0, quote);
  const at = text.indexOf(" -p ");
  const value = at >= 0 && !negatedAt(text, at) ? wordAfter(text, at + 4) : undefined;
  const ports: { ranges: [number, number][]; negated: boolean }[] = [];
  for (const option of PORT_OPTIONS) {
    for (let i = text.indexOf(option); i >= 0; i = text.indexOf(option, i + 1)) {
      const ranges = portRanges(wordAfter(text, i + option.length));
      if (ranges) ports.push({ ranges, negated: negatedAt(text, i) });
    }
  }
  return { protocol: value !== undefined && PROTOCOLS.has(value) ? value : undefined, ports };
}

/** Whether the guard shows the packet cannot match: another protocol, or a destination port outside (or, negated, inside) the rule's. */
export function cannotMatch(guard: RuleGuard, packet: Pick<Packet, "protocol" | "destinationPort">): boolean {
  if (guard.protocol !== undefined && guard.protocol !== packet.protocol) return true;
  return guard.ports.some(({ ranges, negated }) => {
    const holds = portHolds(ranges, packet.destinationPort);
    return holds !== undefined && holds === negated;
  });
}

/** Whether the option at `at` (its leading space) is preceded by `!`. */
function negatedAt(text: string, at: number): boolean {
  return at >= 2 && text.charCodeAt(at - 1) === 0x21 && text.charCodeAt(at - 2) === 0x20;
}

function wordAfter(text: string, from: number): string {
  const end = text.indexOf(" ", from);
  return text.slice(from, end < 0 ? text.length : end);
}

/** `80`, `1000:2000`, `:1024`, `80,443,8000:8010`; `undefined` for anything else (a service name). */
function portRanges(value: string): [number, number][] | undefined {
  const out: [number, number][] = [];
  for (const part of value.split(",")) {
    const colon = part.indexOf(":");
    const a = colon < 0 ? part : part.slice(0, colon);
    const b = colon < 0 ? part : part.slice(colon + 1);
    const first = a === "" ? 0 : Number(a);
    const last = b === "" ? 65535 : Number(b);
    if (part === "" || !Number.isInteger(first) || !Number.isInteger(last) || (colon < 0 && a === "")) return undefined;
    out.push([first, last]);
  }
  return out;
}

/** Whether the ranges hold the port; `undefined` when that depends on which ephemeral port. */
function portHolds(ranges: readonly (readonly [number, number])[], port: PortRef): boolean | undefined {
  if (port !== "ephemeral") return ranges.some(([a, b]) => a <= port && port <= b);
  if (ranges.some(([a, b]) => a <= EPHEMERAL_PORTS.first && EPHEMERAL_PORTS.last <= b)) return true;
  if (ranges.every(([a, b]) => b < EPHEMERAL_PORTS.first || a > EPHEMERAL_PORTS.last)) return false;
  return undefined;
}
