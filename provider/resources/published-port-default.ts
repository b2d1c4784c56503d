import { z } from "zod";
import { DOCKER_PROXY } from "../docker/listeners";
import { dockerLayoutOf, publishedPortsOf } from "../docker/docker-on-host";
import { portsOverlap } from "../docker/published-ports";
import { FAMILIES, type Family } from "../family";
import type { FamilyRules, Snapshot } from "../host-session";
import { interfaceField } from "../schema/fields";
import { ownedRules, ruleMatchShape, type EngineRuleMatch } from "./docker-user-rule";
import type { Observation } from "./rule-resource";
import { resourceBaseShape } from "./resource-base";
import { guardedPaths, type PortPath, type ServedPort } from "./published-port";

/** The default priority of a `PublishedPortDefault`: last, after every `PublishedPort` (500) that allows a source. */
export const DEFAULT_CLOSE_PRIORITY = 999;

/**
 * The names Docker gives its bridges (`docker0`, and `br-<id>` for every
 * user-defined network): as interface patterns, they cover bridges made
 * later too.
 */
const DOCKER_BRIDGE_PATTERNS = ["docker0", "br-+"] as const;

/** Validated arguments of a `PublishedPortDefault`; an unknown key is refused. */
export const publishedPortDefaultSchema = z.strictObject({
  ...resourceBaseShape,
  inInterface: interfaceField.refine((name) => !name.startsWith("!"), { message: "inInterface names the interface outside clients come in on; negation is not allowed here" }).optional(),
  family: ruleMatchShape.family,
  priority: ruleMatchShape.priority,
  comment: ruleMatchShape.comment,
});

/** The arguments of a `PublishedPortDefault` once `check` validated them. */
export type CheckedPublishedPortDefaultArgs = z.infer<typeof publishedPortDefaultSchema>;

/**
 * The rules of a `PublishedPortDefault`: every published port closed to
 * outside clients on every path, below (after) every `PublishedPort`, whose
 * ACCEPTs come first and so still let their sources in.
 *
 * 1. `forward` (DOCKER-USER, in families where Docker writes rules): a DROP
 *    of every connection Docker translated (`--ctstate DNAT`), whatever the
 *    port, so ports published later are closed too. Without `inInterface`,
 *    connections from Docker's own bridges (containers reaching a published
 *    port through the host's address) RETURN first, untouched.
 * 2. `direct` (DOCKER-USER): a DROP of connections into a Docker bridge that
 *    Docker did not translate, from outside the bridge: direct routing to
 *    containers' own addresses, which Docker 20.10 and 26 leave open.
 * 3. `proxy` (INPUT): a DROP per port docker-proxy serves to outside
 *    clients when read: one it listens on in a family where Docker does not
 *    DNAT that port (`[::]:PORT` for an IPv4-only bridge, every port with
 *    `iptables: false`); where Docker DNATs the port, outside clients never
 *    reach docker-proxy, which then serves only the host and containers.
 *    Loopback is spared. It follows the host, so a port docker-proxy starts
 *    serving later is reported as drift until the next `up`.
 *
 * Bridges are matched as `docker0` and `br-+` (every user-defined network,
 * later ones included), plus any other bridge Docker's rules name.
 */
export function publishedPortDefaultRules(args: CheckedPublishedPortDefaultArgs, snapshot?: Snapshot): FamilyRules {
  const families: readonly Family[] = args.family === undefined || args.family === "both" ? FAMILIES : [args.family];
  const common = { priority: args.priority ?? DEFAULT_CLOSE_PRIORITY, comment: args.comment } as const;
  const bridges = bridgePatterns(snapshot);
  const rules: EngineRuleMatch[] = [];
  for (const family of families) {
    if (snapshot && !dockerLayoutOf(snapshot, family).managed) continue;
    const translated = { ...common, family, ctstate: ["DNAT" as const] };
    if (args.inInterface === undefined) rules.push(...bridges.map((bridge) => ({ ...translated, inInterface: bridge, action: "RETURN" as const })));
    rules.push({ ...translated, inInterface: args.inInterface, action: "DROP" });
    for (const bridge of bridges) {
      rules.push({ ...common, family, inInterface: args.inInterface ?? `!${bridge}`, outInterface: bridge, notDnat: true, originalDirection: true, action: "DROP" });
    }
  }
  // Rules that follow the host come last, so that every other rule keeps its index (and its text) whatever the host shows.
  for (const l of snapshot ? proxyPorts(snapshot, families) : []) {
    rules.push({ ...common, chain: "INPUT", family: l.family, inInterface: args.inInterface ?? "!lo", protocol: l.protocol, destinationPort: l.port, originalDirection: true, action: "DROP" });
  }
  return ownedRules(args.__owner, rules);
}

/** The bridge patterns to close: Docker's naming patterns, then any other bridge its rules name (sorted). */
function bridgePatterns(snapshot: Snapshot | undefined): string[] {
  const others = new Set<string>();
  for (const family of snapshot ? FAMILIES : []) {
    for (const bridge of dockerLayoutOf(snapshot!, family).bridges) if (bridge !== "docker0" && !bridge.startsWith("br-")) others.add(bridge);
  }
  return [...DOCKER_BRIDGE_PATTERNS, ...[...others].sort()];
}

/** The ports docker-proxy serves to outside clients (it listens, and Docker does not DNAT them in that family), per family and protocol, each once, sorted. */
function proxyPorts(snapshot: Snapshot, families: readonly Family[]): { family: Family; protocol: "tcp" | "udp"; port: number }[] {
  const keys = new Map<string, { family: Family; protocol: "tcp" | "udp"; port: number }>();
  const dnat = { ipv4: publishedPortsOf(snapshot, "ipv4"), ipv6: publishedPortsOf(snapshot, "ipv6") };
  for (const l of snapshot.listeners) {
    const translated = dnat[l.family].some((m) => m.protocol === l.protocol && portsOverlap(m.hostPort, String(l.port)));
    if (l.process === DOCKER_PROXY && families.includes(l.family) && !translated) keys.set(`${l.family} ${l.protocol} ${String(l.port).padStart(5, "0")}`, { family: l.family, protocol: l.protocol, port: l.port });
  }
  return [...keys.keys()].sort().map((k) => keys.get(k)!);
}

/**
 * What the host serves and what is closed, read from the host: `served`
 * (every published port on every path, as `PublishedPort` reports it) and
 * `closedPaths` (per family, the paths whose DROP of this resource is in
 * place and reached). A port docker-proxy starts serving after the last
 * `up` shows as drift (its DROP is missing) until the next one.
 */
export function observePublishedPortDefault(args: CheckedPublishedPortDefaultArgs, snapshot: Snapshot): Observation {
  const served: ServedPort[] = [];
  const closed: Partial<Record<Family, PortPath[]>> = {};
  for (const family of FAMILIES) {
    const layout = dockerLayoutOf(snapshot, family);
    for (const m of publishedPortsOf(snapshot, family)) {
      served.push({ family, path: "forward", address: m.bindAddress, port: m.hostPort, by: m.target });
      if (!layout.directAccessDropped.has(m.containerAddress)) served.push({ family, path: "direct", address: m.containerAddress, port: m.containerPort, by: m.target });
    }
    for (const l of snapshot.listeners.filter((l) => l.family === family && l.process === DOCKER_PROXY)) served.push({ family, path: "proxy", address: l.address, port: String(l.port), by: DOCKER_PROXY });
    closed[family] = guardedPaths(snapshot, family, args.__owner);
  }
  return { outputs: { served, closedPaths: closed }, drift: [] };
}
