import { publishedPorts } from "../docker/published-ports";
import type { Listener } from "../docker/listeners";
import type { Family } from "../family";
import type { Snapshot } from "../host-session";
import { addressValue, isAddressOf, parsePrefix, union, type AddressSet } from "./address-set";
import { walkBuiltin, type DecidingRule, type VerdictPart } from "./chain-walk";
import type { AddressRef, Packet } from "./packet";

/**
 * Follows a new connection from a set of clients to a port of the host
 * through the kernel's hooks, as iptables sees it:
 *
 * 1. raw PREROUTING, mangle PREROUTING, nat PREROUTING (DNAT, REDIRECT);
 * 2. the routing decision: a destination of the host's own is delivered
 *    locally (mangle INPUT, filter INPUT, security INPUT, then a listening
 *    socket: docker-proxy or any service); a DNAT to a container is
 *    forwarded (mangle FORWARD, filter FORWARD → DOCKER-USER → Docker's
 *    chains, security FORWARD, mangle POSTROUTING) to the container's bridge;
 * 3. the reply, which must get back: for a forwarded connection the same
 *    forward hooks from the bridge (ESTABLISHED, DNAT, direction REPLY), for
 *    a local one raw/mangle/filter/security OUTPUT and mangle POSTROUTING.
 *
 * Assumptions, stated in every answer's reason where they matter: clients
 * are other machines; a host address the caller does not name is none that
 * a rule names; the reply leaves by the interface the request came in on;
 * the client's source port is ephemeral (32768–60999); a container serves
 * the port it is DNATed to.
 */

/** How a connection reaches its service: DNATed and forwarded to a container, or delivered to a local socket (docker-proxy or another service). */
export type ServicePath = "forward" | "proxy";

/** A question about a set of clients. */
export interface ConnectionQuestion {
  readonly family: Family;
  readonly protocol: "tcp" | "udp";
  /** The host port connected to. */
  readonly port: number;
  /** The address connected to: one of the host's (named or not). */
  readonly destination: AddressRef;
  /** The interface the clients' packets come in on (a name or a class, see `interfaceMatches`). */
  readonly inInterface: string;
  readonly clients: AddressSet;
}

/** The answer for some of the clients. */
export interface ConnectionOutcome {
  readonly clients: AddressSet;
  /** `null` when a rule that decides is not understood. */
  readonly reachable: boolean | null;
  /** `null` when nothing serves the port or it is blocked before the routing decision. */
  readonly path: ServicePath | null;
  /** The rule that decided: the one that dropped, was not understood, or accepted the first packet in filter. */
  readonly decidedBy: DecidingRule | undefined;
  readonly reason: string;
}

/** The hooks a first packet delivered locally passes, after routing. */
const LOCAL_IN: readonly (readonly [string, string])[] = [["mangle", "INPUT"], ["filter", "INPUT"], ["security", "INPUT"]];
/** The hooks a forwarded packet (either direction) passes, after routing. */
const FORWARD: readonly (readonly [string, string])[] = [["mangle", "FORWARD"], ["filter", "FORWARD"], ["security", "FORWARD"], ["mangle", "POSTROUTING"]];
/** The hooks a reply sent by a local socket passes. */
const LOCAL_OUT: readonly (readonly [string, string])[] = [["raw", "OUTPUT"], ["mangle", "OUTPUT"], ["filter", "OUTPUT"], ["security", "OUTPUT"], ["mangle", "POSTROUTING"]];
/** The hooks before the routing decision, nat aside. */
const PRE_NAT: readonly (readonly [string, string])[] = [["raw", "PREROUTING"], ["mangle", "PREROUTING"]];

/** Follows the connection for every client of the question. */
export function followConnection(snapshot: Snapshot, question: ConnectionQuestion, seen?: Set<string>): ConnectionOutcome[] {
  const { family } = question;
  const ruleset = snapshot[family];
  const client: AddressRef = { kind: "client" };
  const first: Packet = {
    family,
    protocol: question.protocol,
    inInterface: question.inInterface,
    outInterface: undefined,
    source: client,
    destination: question.destination,
    sourcePort: "ephemeral",
    destinationPort: question.port,
    tcpFlags: ["SYN"],
    conntrack: {
      state: "unknown",
      dnat: false,
      direction: "ORIGINAL",
      originalSource: client,
      originalDestination: question.destination,
      originalSourcePort: "ephemeral",
      originalDestinationPort: question.port,
      replySource: question.destination,
      replySourcePort: question.port,
    },
  };
  const out: ConnectionOutcome[] = [];
  const walk = (table: string, chain: string, packet: Packet, clients: AddressSet) => walkBuiltin(ruleset, family, table, chain, packet, clients, seen);

  // Before routing: raw runs before conntrack has a state; mangle and nat see a NEW connection.
  let passed = question.clients;
  for (const [table, chain] of PRE_NAT) {
    const packet = table === "raw" ? first : { ...first, conntrack: { ...first.conntrack, state: "NEW" as const } };
    passed = stop(walk(table, chain, packet, passed), out, null);
  }
  const fresh: Packet = { ...first, conntrack: { ...first.conntrack, state: "NEW" } };
  for (const part of walk("nat", "PREROUTING", fresh, passed)) {
    const v = part.verdict;
    if (v.kind === "drop" || v.kind === "unknown") {
      stop([part], out, null);
    } else if (v.kind === "dnat" && v.address !== undefined && !isLocal(snapshot, family, v.address, question.destination)) {
      forwardToContainer(snapshot, question, fresh, part.clients, v.address, v.port ?? question.port, v.decidedBy, walk, out);
    } else {
      const port = v.kind === "dnat" || v.kind === "redirect" ? (v.port ?? question.port) : question.port;
      const destination = v.kind === "dnat" && v.address !== undefined ? fixed(v.address, true) : question.destination;
      const translated = v.kind === "dnat" || v.kind === "redirect";
      deliverLocally(snapshot, question, fresh, part.clients, destination, port, translated, walk, out);
    }
  }
  return out;
}

type Walker = (table: string, chain: string, packet: Packet, clients: AddressSet) => VerdictPart[];

/**
 * Records the parts a walk outside nat PREROUTING dropped or could not
 * decide (a DNAT or REDIRECT there is not followed); returns the clients it
 * let through.
 */
function stop(parts: readonly VerdictPart[], out: ConnectionOutcome[], path: ServicePath | null, what = "the connection"): AddressSet {
  let passed: AddressSet = [];
  for (const { clients, verdict } of parts) {
    if (verdict.kind === "accept") {
      passed = union(passed, clients);
    } else if (verdict.kind === "drop") {
      out.push({ clients, reachable: false, path, decidedBy: verdict.decidedBy, reason: `${what} is dropped by ${describe(verdict.decidedBy)}` });
    } else {
      const why = verdict.kind === "unknown" ? verdict.reason : `a ${verdict.kind === "dnat" ? "DNAT" : "REDIRECT"} outside nat PREROUTING is not followed`;
      out.push({ clients, reachable: null, path, decidedBy: verdict.decidedBy, reason: `unknown: ${why} in ${describe(verdict.decidedBy)}` });
    }
  }
  return passed;
}

/** Walks hooks in order; returns per part of the clients the rule that accepted in filter (the deciding one) and who passed all. */
function walkHooks(hooks: readonly (readonly [string, string])[], packet: Packet, clients: AddressSet, walk: Walker, out: ConnectionOutcome[], path: ServicePath, what: string): { clients: AddressSet; acceptedBy: DecidingRule | undefined }[] {
  let parts: { clients: AddressSet; acceptedBy: DecidingRule | undefined }[] = [{ clients, acceptedBy: undefined }];
  for (const [table, chain] of hooks) {
    const next: typeof parts = [];
    for (const part of parts) {
      for (const result of walk(table, chain, packet, part.clients)) {
        if (result.verdict.kind === "accept") next.push({ clients: result.clients, acceptedBy: table === "filter" ? result.verdict.decidedBy : part.acceptedBy });
        else stop([result], out, path, what);
      }
    }
    parts = next;
  }
  return parts;
}

/** The forwarded path: the first packet to the container, then its reply. */
function forwardToContainer(snapshot: Snapshot, question: ConnectionQuestion, fresh: Packet, clients: AddressSet, address: string, port: number, dnatBy: DecidingRule, walk: Walker, out: ConnectionOutcome[]): void {
  const bridge = bridgeOf(snapshot, question.family, address);
  const to = question.destination;
  const neighbours = to.kind === "fixed" && isLoopback(question.family, to.value) ? `; only a neighbour on the same link can send a packet for ${to.text}` : "";
  const container = fixed(address, false);
  const conntrack = { ...fresh.conntrack, dnat: true, replySource: container, replySourcePort: port };
  const firstPacket: Packet = { ...fresh, destination: container, destinationPort: port, outInterface: bridge ?? null, conntrack };
  const reply: Packet = {
    ...fresh,
    inInterface: bridge ?? null,
    outInterface: question.inInterface,
    source: container,
    sourcePort: port,
    destination: { kind: "client" },
    destinationPort: "ephemeral",
    tcpFlags: ["SYN", "ACK"],
    conntrack: { ...conntrack, state: "ESTABLISHED", direction: "REPLY" },
  };
  for (const part of walkHooks(FORWARD, firstPacket, clients, walk, out, "forward", "the connection")) {
    let back = stop(walk("raw", "PREROUTING", { ...reply, conntrack: { ...reply.conntrack, state: "unknown" } }, part.clients), out, "forward", "the reply");
    back = stop(walk("mangle", "PREROUTING", reply, back), out, "forward", "the reply");
    for (const done of walkHooks(FORWARD, reply, back, walk, out, "forward", "the reply")) {
      out.push({
        clients: done.clients,
        reachable: true,
        path: "forward",
        decidedBy: part.acceptedBy,
        reason: `DNATed by ${describe(dnatBy)} to ${address}:${port}${bridge ? ` on ${bridge}` : ""}; ${part.acceptedBy ? `accepted by ${describe(part.acceptedBy)}` : "no filter rule stops it"}; the reply gets back${neighbours}`,
      });
    }
  }
}

/** Whether an address is a loopback address of the family (`127.0.0.0/8`, `::1`). */
function isLoopback(family: Family, value: bigint): boolean {
  const loopback = parsePrefix(family === "ipv4" ? "127.0.0.0/8" : "::1/128", family) ?? [];
  return loopback.some((r) => r.first <= value && value <= r.last);
}

/** The local path: the first packet to a socket of the host, then its reply. */
function deliverLocally(snapshot: Snapshot, question: ConnectionQuestion, fresh: Packet, clients: AddressSet, destination: AddressRef, port: number, translated: boolean, walk: Walker, out: ConnectionOutcome[]): void {
  if (clients.length === 0) return;
  const { family } = question;
  if (destination.kind === "fixed" && isLoopback(family, destination.value) && question.inInterface !== "lo") {
    out.push({ clients, reachable: false, path: null, decidedBy: undefined, reason: `${destination.text} is a loopback address: the kernel drops packets for it that come from outside (martian destination)` });
    return;
  }
  const conntrack = { ...fresh.conntrack, dnat: translated, replySource: destination, replySourcePort: port };
  const firstPacket: Packet = { ...fresh, destination, destinationPort: port, conntrack };
  const listener = listenerFor(snapshot.listeners, family, question.protocol, destination, port);
  const reply: Packet = {
    ...fresh,
    inInterface: undefined,
    outInterface: question.inInterface,
    source: destination,
    sourcePort: port,
    destination: { kind: "client" },
    destinationPort: "ephemeral",
    tcpFlags: ["SYN", "ACK"],
    conntrack: { ...conntrack, state: "ESTABLISHED", direction: "REPLY" },
  };
  const where = `${destination.kind === "fixed" ? destination.text : "the host"}:${port}`;
  for (const part of walkHooks(LOCAL_IN, firstPacket, clients, walk, out, "proxy", "the connection")) {
    if (!listener) {
      out.push({ clients: part.clients, reachable: false, path: null, decidedBy: undefined, reason: `nothing listens on ${where} (${question.protocol})` });
      continue;
    }
    for (const done of walkHooks(LOCAL_OUT, reply, part.clients, walk, out, "proxy", "the reply")) {
      out.push({
        clients: done.clients,
        reachable: true,
        path: "proxy",
        decidedBy: part.acceptedBy,
        reason: `delivered to ${listener.process ?? "a socket"} on ${family === "ipv6" ? `[${listener.address}]` : listener.address}:${listener.port}; ${part.acceptedBy ? `accepted by ${describe(part.acceptedBy)}` : "no filter rule stops it"}; the reply gets back`,
      });
    }
  }
}

/** A listening socket that takes a connection to the destination and port. */
function listenerFor(listeners: readonly Listener[], family: Family, protocol: string, destination: AddressRef, port: number): Listener | undefined {
  const wildcard = family === "ipv4" ? "0.0.0.0" : "::";
  const candidates = listeners.filter((l) => l.family === family && l.protocol === protocol && l.port === port);
  const exact = destination.kind === "fixed" ? candidates.find((l) => isAddressOf(l.address, family) && addressValue(l.address) === destination.value) : undefined;
  return exact ?? candidates.find((l) => l.address === wildcard);
}

/** Whether a DNAT destination is one of the host's own addresses (loopback, the address connected to, or one a socket listens on). */
function isLocal(snapshot: Snapshot, family: Family, address: string, destination: AddressRef): boolean {
  if (!isAddressOf(address, family)) return false;
  const value = addressValue(address);
  if (isLoopback(family, value)) return true;
  if (destination.kind === "fixed" && destination.value === value) return true;
  return snapshot.listeners.some((l) => l.family === family && l.address === address);
}

/** The bridge Docker names for a container address, from its DNAT and filter rules. */
function bridgeOf(snapshot: Snapshot, family: Family, address: string): string | undefined {
  return publishedPorts(snapshot[family], family).find((m) => m.containerAddress === address && m.bridge !== undefined)?.bridge;
}

/** A known address. */
export function fixed(text: string, local: boolean): AddressRef {
  return { kind: "fixed", value: addressValue(text), text, local };
}

/** A deciding rule for people: `filter DOCKER-USER #1 (-A DOCKER-USER -j DROP)`. */
export function describe(rule: DecidingRule | undefined): string {
  if (!rule) return "no rule";
  return rule.position === 0 ? `the policy of ${rule.table} ${rule.chain} (${rule.text})` : `${rule.table} ${rule.chain} #${rule.position} (${rule.text})`;
}
