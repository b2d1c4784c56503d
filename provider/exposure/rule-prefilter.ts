import { EPHEMERAL_PORTS, type Packet, type PortRef } from "./packet";

/**
 * Prunes, from a rule's text alone (before it is split into words and
 * compiled), the rules that cannot match a packet because of their protocol
 * or destination port: on a big host most rules are someone else's
 * allowlist entries for other ports, and this keeps the walk from
 * compiling them. Only what is certain prunes: a word inside a quoted string
 * is never read, and anything unclear keeps the rule.
 */

/** The destination-port options of every module (`tcp`, `udp`, `multiport`, …). */
const PORT_OPTIONS = [" --dport ", " --dports ", " --destination-port ", " --destination-ports "];

/** Whether the rule's text shows a protocol or destination-port match the packet fails. */
export function cannotMatch(line: string, packet: Packet): boolean {
  const quote = line.indexOf('"');
  const text = quote < 0 ? line : line.slice(0, quote);
  const protocol = text.indexOf(" -p ");
  if (protocol >= 0 && !negatedAt(text, protocol)) {
    const value = wordAfter(text, protocol + 4);
    if ((value === "tcp" || value === "udp" || value === "icmp" || value === "ipv6-icmp" || value === "sctp") && value !== packet.protocol) return true;
  }
  for (const option of PORT_OPTIONS) {
    for (let at = text.indexOf(option); at >= 0; at = text.indexOf(option, at + 1)) {
      const ranges = portRanges(wordAfter(text, at + option.length));
      if (!ranges) continue;
      const holds = portHolds(ranges, packet.destinationPort);
      if (holds !== undefined && holds === negatedAt(text, at)) return true;
    }
  }
  return false;
}

/** Whether the option at `at` (its leading space) is preceded by `!`. */
function negatedAt(text: string, at: number): boolean {
  return at >= 2 && text.slice(at - 2, at) === " !";
}

function wordAfter(text: string, from: number): string {
  const end = text.indexOf(" ", from);
  return text.slice(from, end < 0 ? text.length : end);
}

/** `80`, `1000:2000`, `80,443,8000:8010`; `undefined` for anything else (a service name). */
function portRanges(value: string): [number, number][] | undefined {
  const out: [number, number][] = [];
  for (const part of value.split(",")) {
    const m = /^(\d*):?(\d*)$/.exec(part);
    if (!m || part === "") return undefined;
    const first = m[1] === "" ? 0 : Number(m[1]);
    const last = part.includes(":") ? (m[2] === "" ? 65535 : Number(m[2])) : first;
    out.push([first, last]);
  }
  return out;
}

/** Whether the ranges hold the port; `undefined` when that depends on which ephemeral port. */
function portHolds(ranges: readonly [number, number][], port: PortRef): boolean | undefined {
  if (port !== "ephemeral") return ranges.some(([a, b]) => a <= port && port <= b);
  if (ranges.some(([a, b]) => a <= EPHEMERAL_PORTS.first && EPHEMERAL_PORTS.last <= b)) return true;
  if (ranges.every(([a, b]) => b < EPHEMERAL_PORTS.first || a > EPHEMERAL_PORTS.last)) return false;
  return undefined;
}
