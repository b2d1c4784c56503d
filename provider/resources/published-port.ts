import { z } from "zod";
import { chainOf, userTable } from "../chains";
import { dockerLayoutOf, publishedPortsOf } from "../docker/docker-on-host";
import { DOCKER_PROXY, type Listener } from "../docker/listeners";
import { DOCKER_USER } from "../docker/layout";
import { portsOverlap, type PublishedMapping } from "../docker/published-ports";
import { FAMILIES, type Family } from "../family";
import { firewallOf } from "../firewall-choice";
import type { FamilyRules, Snapshot } from "../host-session";
import { ownedLiveRules } from "../live-rules";
import { parseAddress } from "../schema/address";
import { addressField, itemLimit, portOrRange } from "../schema/fields";
import { mangleWarning, ownedRules, ruleMatchShape, type EngineRuleMatch } from "./docker-user-rule";
import type { Observation } from "./rule-resource";
import { resourceBaseShape } from "./resource-base";

/** Validated arguments of a `PublishedPort`; an unknown key is refused. */
export const publishedPortSchema = z.strictObject({
  ...resourceBaseShape,
  hostPort: portOrRange,
  protocol: z.enum(["tcp", "udp"]).optional(),
  allowFrom: itemLimit(200, "at most 200 addresses in allowFrom").pipe(
    z.array(addressField.refine((a) => !a.startsWith("!"), { message: "allowFrom lists who may connect; negation is not allowed here" })),
  ),
  inInterface: ruleMatchShape.inInterface,
  family: ruleMatchShape.family,
  priority: ruleMatchShape.priority,
  comment: ruleMatchShape.comment,
});

/** The arguments of a `PublishedPort` once `check` validated them (the SDK's `PublishedPortArgs` are what users write). */
export type CheckedPublishedPortArgs = z.infer<typeof publishedPortSchema>;

/**
 * A way packets reach a published port:
 * - `forward`: DNATed by Docker to a container, through FORWARD and DOCKER-USER;
 * - `proxy`: delivered to the host itself (docker-proxy, or whatever listens), through INPUT;
 * - `direct`: routed to the container's own address and port, without DNAT (Docker 20.10 and 26 allow it).
 */
export type PortPath = "forward" | "proxy" | "direct";

/** How the host serves the port, one way per entry (the output `served`). */
export interface ServedPort {
  readonly family: Family;
  readonly path: PortPath;
  /** The address it is served on: the DNAT's bind address, the listening address, or the container's address. */
  readonly address: string;
  /** The port or range. */
  readonly port: string;
  /** What serves it: the container (`172.17.0.2:80`) or the listening process (`docker-proxy`). */
  readonly by: string;
}

/**
 * The rules of a `PublishedPort`, for the host as read, guarding every path
 * to the port in the families its allowlist names and its DROP covers:
 *
 * 1. `forward` (DOCKER-USER): an ACCEPT per allowed source, then a DROP,
 *    keyed on the port the client asked for (`--ctorigdstport`) and on
 *    `--ctstate DNAT`, so they never name a container address and leave
 *    containers' own outgoing connections alone. Only in families where
 *    Docker writes rules (elsewhere nothing is DNATed).
 * 2. `proxy` (INPUT): an ACCEPT per allowed source, then a DROP of every
 *    other connection to the host port delivered to the host itself (not
 *    over loopback): docker-proxy's `[::]:PORT`, and every port when a
 *    family's iptables is off. Always present, so it holds whenever
 *    docker-proxy starts serving.
 * 3. `direct` (DOCKER-USER): for each container Docker publishes the port to
 *    whose direct access Docker does not drop itself (20.10, 26), a DROP of
 *    connections to the container's port on its bridge that Docker did not
 *    translate, from outside the bridge. It is keyed on the bridge and the
 *    container port, which stay when the container is recreated.
 */
export function publishedPortRules(args: CheckedPublishedPortArgs, snapshot?: Snapshot): FamilyRules {
  const protocol = args.protocol ?? "tcp";
  const dropFamilies: readonly Family[] = args.family === undefined || args.family === "both" ? FAMILIES : [args.family];
  const common = { priority: args.priority, protocol, comment: args.comment } as const;
  const managed = (f: Family) => (snapshot ? dockerLayoutOf(snapshot, f).managed : true);
  const allowed = args.allowFrom.map((source) => ({ source, family: familyOf(source) }));
  const forward = { ...common, inInterface: args.inInterface, ctstate: ["DNAT" as const], originalDestinationPort: args.hostPort };
  const proxy = { ...common, chain: "INPUT" as const, destinationPort: args.hostPort };
  // The rules that follow the host come last, so that every other rule keeps its index (and its text) whatever the host shows.
  const rules: EngineRuleMatch[] = [
    ...allowed.map((a) => ({ ...forward, action: "ACCEPT" as const, source: a.source })),
    ...dropFamilies.map((family) => ({ ...forward, action: "DROP" as const, family })),
    ...allowed.map((a) => ({ ...proxy, inInterface: args.inInterface, action: "ACCEPT" as const, source: a.source })),
    ...dropFamilies.map((family) => ({ ...proxy, inInterface: args.inInterface ?? "!lo", originalDirection: true, action: "DROP" as const, family })),
    ...(snapshot ? directGuards(args, snapshot, dropFamilies) : []),
  ];
  const owned = ownedRules(args.__owner, rules);
  // Where Docker writes no rules, nothing is DNATed: no forward path to guard.
  const keep = (f: Family) => owned[f].filter((r) => managed(f) || chainOf(r.text) !== DOCKER_USER);
  return { ipv4: keep("ipv4"), ipv6: keep("ipv6") };
}

/**
 * The direct-access DROPs: one per family, bridge and container port that
 * Docker publishes the port to where it leaves direct access open, and one
 * per such guard of ours already on the host, so that a guard stays while
 * the container is gone (removed, or being recreated) and is there when it
 * comes back. They go with the resource.
 */
function directGuards(args: CheckedPublishedPortArgs, snapshot: Snapshot, dropFamilies: readonly Family[]): EngineRuleMatch[] {
  const protocol = args.protocol ?? "tcp";
  const keys = new Map<string, { family: Family; bridge: string; port: string }>();
  for (const family of dropFamilies) {
    const layout = dockerLayoutOf(snapshot, family);
    for (const m of mappingsOf(args, snapshot, family)) {
      if (m.bridge && m.containerPort && !layout.directAccessDropped.has(m.containerAddress)) keys.set(`${family} ${m.bridge} ${m.containerPort}`, { family, bridge: m.bridge, port: m.containerPort });
    }
    for (const live of ownedLiveRules(snapshot, family, args.__owner)) {
      const rule = live.chain === DOCKER_USER ? live.rule : undefined;
      const bridge = rule?.matches.outInterface?.value;
      const port = rule?.matches.destinationPort?.value;
      if (rule?.matches.ctstate?.negated && bridge && port && rule.matches.protocol?.value === protocol) keys.set(`${family} ${bridge} ${port}`, { family, bridge, port });
    }
  }
  return [...keys.keys()].sort().map((key) => {
    const { family, bridge, port } = keys.get(key)!;
    return {
      priority: args.priority,
      comment: args.comment,
      family,
      action: "DROP",
      inInterface: args.inInterface ?? `!${bridge}`,
      outInterface: bridge,
      protocol,
      destinationPort: port,
      notDnat: true,
      originalDirection: true,
    };
  });
}

/** Docker's DNAT mappings of the port in a family. */
function mappingsOf(args: CheckedPublishedPortArgs, snapshot: Snapshot, family: Family): PublishedMapping[] {
  return publishedPortsOf(snapshot, family).filter((m) => m.protocol === (args.protocol ?? "tcp") && portsOverlap(m.hostPort, String(args.hostPort)));
}

/** The sockets listening on the port. */
function listenersOf(args: CheckedPublishedPortArgs, snapshot: Snapshot): Listener[] {
  return snapshot.listeners.filter((l) => l.protocol === (args.protocol ?? "tcp") && portsOverlap(String(l.port), String(args.hostPort)));
}

function familyOf(address: string): Family {
  return (parseAddress(address) as { family: Family }).family;
}

/**
 * What the host serves on the port and what guards it, read from the host:
 * the outputs `published`, `bindAddresses`, `targets` (from Docker's DNAT
 * rules and the listening sockets), `served` (every path, per family),
 * `guardedPaths` (per family, the paths whose DROP of ours is in place and
 * reached), `warnings` (what is and is not enforced), and as drift every
 * path that is served but not guarded.
 */
export function observePublishedPort(args: CheckedPublishedPortArgs, snapshot: Snapshot): Observation {
  const dropFamilies: readonly Family[] = args.family === undefined || args.family === "both" ? FAMILIES : [args.family];
  const served: ServedPort[] = [];
  const guarded: Record<Family, PortPath[]> = { ipv4: [], ipv6: [] };
  const warnings: string[] = [];
  const drift: string[] = [];
  const firewall = firewallOf(snapshot.nft, args.firewall);
  for (const family of FAMILIES) {
    const layout = dockerLayoutOf(snapshot, family);
    for (const m of mappingsOf(args, snapshot, family)) {
      served.push({ family, path: "forward", address: m.bindAddress, port: m.hostPort, by: m.target });
      if (!layout.directAccessDropped.has(m.containerAddress)) served.push({ family, path: "direct", address: m.containerAddress, port: m.containerPort, by: m.target });
    }
    for (const l of listenersOf(args, snapshot).filter((l) => l.family === family)) {
      served.push({ family, path: "proxy", address: l.address, port: String(l.port), by: l.process ?? "a local process" });
    }
    guarded[family] = guardedPaths(snapshot, family, args.__owner);
    for (const path of new Set(served.filter((s) => s.family === family).map((s) => s.path))) {
      if (guarded[family].includes(path)) continue;
      const why = dropFamilies.includes(family) ? "" : ` (the resource's DROP covers ${dropFamilies.join(" and ")} only)`;
      drift.push(`${family}: port ${args.hostPort} is served on the ${path} path but not guarded${why}`);
    }
    if (!dropFamilies.includes(family)) continue;
    if (!layout.managed && (firewall === "nftables" || !snapshot.unavailable.includes(family))) {
      warnings.push(`${family}: Docker writes no ${family === "ipv4" ? "iptables" : "ip6tables"} rules on this host (off in daemon.json, or no Docker): only connections the host serves itself (docker-proxy, INPUT) are guarded; containers' own ${family === "ipv4" ? "IPv4" : "IPv6"} addresses are not filtered`);
    }
    if (firewall === "iptables" && userTable(layout) === "mangle") warnings.push(mangleWarning(family));
  }
  const forward = served.filter((s) => s.path === "forward");
  const proxies = served.filter((s) => s.path === "proxy");
  if (served.length === 0) warnings.push(`nothing serves port ${args.hostPort}/${args.protocol ?? "tcp"} now: the guards are in place for when something does`);
  const unique = (values: string[]) => [...new Set(values)].sort();
  return {
    outputs: {
      published: forward.length > 0 || proxies.some((p) => p.by === DOCKER_PROXY),
      bindAddresses: unique([...forward, ...proxies].map((s) => s.address)),
      targets: unique(forward.map((s) => s.by)),
      served,
      guardedPaths: guarded,
      warnings,
    },
    drift,
  };
}

/**
 * The paths whose DROP of this owner is in place and reached in a family:
 * `proxy` in INPUT; `forward` and `direct` in DOCKER-USER (in the table
 * the layout gives it, when FORWARD jumps there before Docker's rules); on
 * nftables, in our `input` and `forward` base chains.
 */
export function guardedPaths(snapshot: Snapshot, family: Family, owner: string): PortPath[] {
  const paths = new Set<PortPath>();
  for (const live of ownedLiveRules(snapshot, family, owner)) {
    if (live.rule?.target !== "DROP" || !live.reached) continue;
    paths.add(live.chain === "INPUT" ? "proxy" : live.rule.matches.ctstate?.negated ? "direct" : "forward");
  }
  return [...paths].sort();
}
