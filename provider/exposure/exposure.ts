import { publishedPorts } from "../docker/published-ports";
import { iptablesView } from "./nftables-view";
import { FAMILIES, type Family } from "../family";
import type { Snapshot } from "../host-session";
import { everyAddress, sameSet, toPrefixes, union } from "./address-set";
import type { DecidingRule } from "./chain-walk";
import { fixed, followConnection, type ConnectionOutcome, type ServicePath } from "./connection-path";
import { interfaceLabel } from "./packet";

/** Which sources, coming in on which interface, get one answer for a port. */
export interface ExposurePart {
  /** The inbound interface (`eth0`), a class (`br-* (others)`, `any other interface`), or `null` for any interface. */
  readonly inInterface: string | null;
  /** The source addresses, as the fewest CIDR prefixes. */
  readonly sources: readonly string[];
  /** `null` when a rule that decides is not understood. */
  readonly reachable: boolean | null;
  /** How the connection is served; `null` when nothing serves it or it is stopped before routing. */
  readonly path: ServicePath | null;
  readonly decidedBy?: DecidingRule;
  readonly reason: string;
}

/** One port the host serves to the outside, in one family, and who can reach it. */
export interface ExposureEntry {
  readonly family: Family;
  readonly protocol: "tcp" | "udp";
  /** The host port (the first of the range the entry covers). */
  readonly port: number;
  /**
   * The ports the entry covers when they are more than one (`8000:8010`):
   * the ports of a published range that get the same answers (each port of a
   * range is evaluated; the reasons are those of its first port).
   */
  readonly portRange?: string;
  /** The address it is published or listens on (`0.0.0.0`, `::`, `127.0.0.1`). */
  readonly boundOn: string;
  /** What serves it: the DNAT target (`172.17.0.2:80`) and/or the listening process. */
  readonly servedBy: readonly string[];
  /** Every source, split at every boundary the relevant rules mention, each part with its answer. */
  readonly parts: readonly ExposurePart[];
}

/** One port to evaluate. */
interface PortTarget {
  readonly family: Family;
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  readonly portRange?: string;
  readonly boundOn: string;
  readonly servedBy: string[];
}

/** Interfaces that are not the way outside clients come in. */
const NOT_INBOUND = new Set(["lo"]);

/**
 * Who can reach each port the host serves: every port Docker publishes
 * (its DNAT rules) and every listening socket (docker-proxy and any other
 * service) of each family, with, per inbound interface that the rules tell
 * apart, the exact set of source addresses that can open a connection and
 * the rule that decides, computed by following the connection for all
 * sources at once (see `followConnection` for the hooks and assumptions).
 * On Docker's nftables backend, its tables and ours are read as iptables
 * rules (see nftables-view.ts).
 */
export function exposure(read: Snapshot): ExposureEntry[] {
  const snapshot = iptablesView(read);
  const entries: ExposureEntry[] = [];
  for (const target of portTargets(snapshot)) {
    const [first, last = first] = (target.portRange ?? String(target.port)).split(":").map(Number);
    let run: { first: number; last: number; parts: ExposurePart[] } | undefined;
    const flush = () => {
      if (!run) return;
      const { family, protocol, boundOn, servedBy } = target;
      entries.push({ family, protocol, port: run.first, ...(run.last > run.first ? { portRange: `${run.first}:${run.last}` } : {}), boundOn, servedBy, parts: run.parts });
    };
    for (let port = first; port <= last; port++) {
      const parts = evaluateTarget(snapshot, { ...target, port });
      if (run && sameAnswers(run.parts, parts)) run.last = port;
      else {
        flush();
        run = { first: port, last: port, parts };
      }
    }
    flush();
  }
  return entries;
}

/** Whether two ports get the same answers (reasons aside, which name the port). */
function sameAnswers(a: readonly ExposurePart[], b: readonly ExposurePart[]): boolean {
  const key = (p: ExposurePart) => JSON.stringify([p.inInterface, p.sources, p.reachable, p.path, p.decidedBy]);
  return a.length === b.length && a.every((p, i) => key(p) === key(b[i]));
}

/** The ports to evaluate, one per family, protocol, port and bind address, sorted. */
function portTargets(snapshot: Snapshot): PortTarget[] {
  const targets = new Map<string, PortTarget>();
  const add = (t: PortTarget, servedBy: string) => {
    const key = `${t.family}|${t.protocol}|${t.port}|${t.boundOn}`;
    const known = targets.get(key) ?? t;
    targets.set(key, { ...known, servedBy: [...known.servedBy, servedBy] });
  };
  for (const family of FAMILIES) {
    if (snapshot.unavailable.includes(family)) continue;
    for (const m of publishedPorts(snapshot[family], family)) {
      if (m.protocol !== "tcp" && m.protocol !== "udp") continue;
      const [first] = m.hostPort.split(":");
      add({ family, protocol: m.protocol, port: Number(first), ...(m.hostPort.includes(":") ? { portRange: m.hostPort } : {}), boundOn: m.bindAddress, servedBy: [] }, m.target);
    }
  }
  for (const l of snapshot.listeners) {
    if (snapshot.unavailable.includes(l.family)) continue;
    add({ family: l.family, protocol: l.protocol, port: l.port, boundOn: l.address, servedBy: [] }, l.process ?? "a socket");
  }
  const order = (t: PortTarget) => `${t.family}|${t.protocol}|${String(t.port).padStart(5, "0")}|${t.boundOn}`;
  return [...targets.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

/**
 * Follows the connection for every source on each inbound interface class:
 * first an interface no rule names, then every interface (or `+` prefix)
 * named by a rule the walks looked at, until the walks name no new one.
 * An interface whose answers are those of an interface no rule names is not
 * listed apart; when none differs, the answers are for any interface.
 */
function evaluateTarget(snapshot: Snapshot, target: PortTarget): ExposurePart[] {
  const { family } = target;
  const wildcard = family === "ipv4" ? "0.0.0.0" : "::";
  const destination = target.boundOn === wildcard ? ({ kind: "host" } as const) : fixed(target.boundOn, true);
  const results = new Map<string, ConnectionOutcome[]>();
  const pending = ["\0"];
  while (pending.length > 0) {
    const iface = pending.shift()!;
    const seen = new Set<string>();
    results.set(iface, followConnection(snapshot, { family, protocol: target.protocol, port: target.port, destination, inInterface: iface, clients: everyAddress(family) }, seen));
    for (const word of seen) {
      const representative = word.endsWith("+") ? `${word.slice(0, -1)}\0` : word;
      if (!results.has(representative) && !pending.includes(representative) && !NOT_INBOUND.has(representative)) pending.push(representative);
    }
  }
  // Interfaces that get the same answers as one no rule names are not listed apart: "any other interface" covers them.
  const others = merge(results.get("\0")!);
  const apart = [...results].filter(([iface]) => iface !== "\0").map(([iface, outcomes]) => ({ iface, parts: merge(outcomes) })).filter((g) => !sameParts(g.parts, others));
  apart.sort((a, b) => (a.iface < b.iface ? -1 : 1));
  const chosen: { iface: string | null; parts: ConnectionOutcome[] }[] = apart.length === 0 ? [{ iface: null, parts: others }] : [...apart, { iface: "\0", parts: others }];
  return chosen.flatMap(({ iface, parts }) =>
    parts.map((p) => ({
      inInterface: iface === null ? null : interfaceLabel(iface),
      sources: toPrefixes(p.clients, family),
      reachable: p.reachable,
      path: p.path,
      ...(p.decidedBy ? { decidedBy: p.decidedBy } : {}),
      reason: p.reason,
    })),
  );
}

/** Joins the outcomes that say the same thing (same answer, path and reason), ordered by their first address. */
function merge(outcomes: readonly ConnectionOutcome[]): ConnectionOutcome[] {
  const byKey = new Map<string, ConnectionOutcome>();
  for (const o of outcomes) {
    const key = `${o.reachable}|${o.path}|${o.reason}`;
    const known = byKey.get(key);
    byKey.set(key, known ? { ...known, clients: union(known.clients, o.clients) } : o);
  }
  return [...byKey.values()].sort((a, b) => (a.clients[0].first < b.clients[0].first ? -1 : 1));
}

function sameParts(a: readonly ConnectionOutcome[], b: readonly ConnectionOutcome[]): boolean {
  return a.length === b.length && a.every((x, i) => x.reachable === b[i].reachable && x.path === b[i].path && x.reason === b[i].reason && sameSet(x.clients, b[i].clients));
}
