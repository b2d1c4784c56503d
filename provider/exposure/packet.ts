import type { Family } from "../family";

/**
 * The packets the evaluator follows: the first packet of a new connection
 * from a client to the host, and the reply that must get back. The clients'
 * address stays symbolic (a rule's address match yields the set of clients
 * it holds for); everything else is known, or explicitly assumed.
 */

/** An address a packet carries: the client's (symbolic), a known one, or one of the host's own that the caller did not name. */
export type AddressRef =
  | { readonly kind: "client" }
  | { readonly kind: "fixed"; readonly value: bigint; readonly text: string; /** Whether it is one of the host's own addresses. */ readonly local: boolean }
  | { readonly kind: "host" };

/**
 * A port a packet carries: a number, or the client's ephemeral port, which
 * is assumed to lie in Linux's default `ip_local_port_range` (see {@link EPHEMERAL_PORTS}).
 */
export type PortRef = number | "ephemeral";

/** The ports a client's kernel picks its source port from (Linux's default `net.ipv4.ip_local_port_range`). */
export const EPHEMERAL_PORTS = { first: 32768, last: 60999 } as const;

/** What conntrack knows about the packet's connection. */
export interface ConntrackView {
  /** `unknown` before conntrack has run (the raw table). */
  readonly state: "NEW" | "ESTABLISHED" | "unknown";
  /** Whether nat PREROUTING changed the connection's destination. */
  readonly dnat: boolean;
  readonly direction: "ORIGINAL" | "REPLY";
  readonly originalSource: AddressRef;
  readonly originalDestination: AddressRef;
  readonly originalSourcePort: PortRef;
  readonly originalDestinationPort: PortRef;
  readonly replySource: AddressRef;
  readonly replySourcePort: PortRef;
}

/** One packet as a chain sees it. */
export interface Packet {
  readonly family: Family;
  readonly protocol: "tcp" | "udp";
  /**
   * The interface it came in on: a name, a name of a class ending in `\0`
   * (see {@link interfaceMatches}), `undefined` where there is none (OUTPUT),
   * `null` when it is not known (a reply from a bridge the rules do not name).
   */
  readonly inInterface: string | undefined | null;
  /** The interface it leaves by: a name, `undefined` where there is none yet (PREROUTING, INPUT), `null` when the route is not known. */
  readonly outInterface: string | undefined | null;
  readonly source: AddressRef;
  readonly destination: AddressRef;
  readonly sourcePort: PortRef;
  readonly destinationPort: PortRef;
  /** The TCP flags set: `SYN` on the first packet, `SYN,ACK` on the reply. */
  readonly tcpFlags: readonly string[];
  readonly conntrack: ConntrackView;
}

/**
 * Whether an iptables interface word (`eth0`, `br+`, `+`) matches an
 * interface. An interface may be a class representative: a prefix followed
 * by `\0` stands for "any interface starting with the prefix that no rule
 * names"; `\0` alone for "an interface no rule names". No real name holds `\0`,
 * so exact words never match a class and `+` words match it by prefix.
 */
export function interfaceMatches(word: string, iface: string): boolean {
  return word.endsWith("+") ? iface.startsWith(word.slice(0, -1)) : word === iface;
}

/** An interface for people: a class representative shown as `br*` or `any other interface`. */
export function interfaceLabel(iface: string): string {
  if (iface === "\0") return "any other interface";
  return iface.endsWith("\0") ? `${iface.slice(0, -1)}* (others)` : iface;
}
