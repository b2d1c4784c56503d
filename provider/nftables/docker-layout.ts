import type { PublishedMapping } from "../docker/published-ports";
import type { Family } from "../family";
import { readFieldMatch } from "./field-table";
import { DOCKER_TABLE, nftFamily } from "./names";
import type { NftDocument, NftRuleItem, NftStatement } from "./nft-json";

/**
 * What Docker 29 with `"firewall-backend": "nftables"` does to one family,
 * read from its own table (`nft -j list table ip|ip6 docker-bridges`):
 *
 * - a chain `filter-forward-in__BR` (and `-out__`, `nat-postrouting-…__`)
 *   per bridge;
 * - per published port, in `nat-prerouting-and-output`:
 *   `[iifname != "BR"] [ip6 saddr != fe80::/10] [ip daddr HOST] tcp dport P
 *   counter dnat to C:CP comment "DNAT"` (no `iifname` test when
 *   `userland-proxy` is off; a host port range maps to a container range);
 * - per container, in `raw-PREROUTING`: `ip daddr C iifname != "BR" counter
 *   drop comment "DROP DIRECT ACCESS"` (`iifname != { "BR", … }` with
 *   trusted interfaces), unless direct routing is allowed.
 */

/** One family's Docker layout on an nftables host. */
export interface DockerNftLayout {
  readonly family: Family;
  /** Whether Docker's table is there (Docker runs its firewall on nftables in this family). */
  readonly present: boolean;
  /** Docker's bridges, from its per-bridge chains. */
  readonly bridges: ReadonlySet<string>;
  /** The ports Docker publishes, in the order of its DNAT rules, in the shape the iptables reader gives. */
  readonly published: readonly PublishedMapping[];
  /** The container addresses whose direct access Docker drops itself. */
  readonly directAccessDropped: ReadonlySet<string>;
}

const BRIDGE_CHAIN = "filter-forward-in__";
const DNAT_CHAIN = "nat-prerouting-and-output";
const RAW_CHAIN = "raw-PREROUTING";

/** Reads one family's Docker layout out of a parsed `nft -j list table … docker-bridges` (or `list ruleset`) document. */
export function dockerNftLayout(document: NftDocument, family: Family): DockerNftLayout {
  const nft = nftFamily(family);
  const rules = document.rules.filter((r) => r.family === nft && r.table === DOCKER_TABLE);
  const bridges = new Set(document.chains.filter((c) => c.family === nft && c.table === DOCKER_TABLE && c.name.startsWith(BRIDGE_CHAIN)).map((c) => c.name.slice(BRIDGE_CHAIN.length)));
  const published = rules.flatMap((r) => (r.chain === DNAT_CHAIN && r.comment === "DNAT" ? (mappingOf(r, family, rules) ?? []) : []));
  const directAccessDropped = new Set(rules.flatMap((r) => (r.chain === RAW_CHAIN && r.comment === "DROP DIRECT ACCESS" ? (destinationOf(r.expr, family) ?? []) : [])));
  return { family, present: document.tables.some((t) => t.family === nft && t.name === DOCKER_TABLE), bridges, published, directAccessDropped };
}

/** A DNAT rule as a mapping; `undefined` when it has anything else than the statements above. */
function mappingOf(rule: NftRuleItem, family: Family, rules: readonly NftRuleItem[]): PublishedMapping | undefined {
  let bridge: string | undefined;
  let bindAddress: string | undefined;
  let protocol: string | undefined;
  let hostPort: string | undefined;
  let target: { address: string; port: string } | undefined;
  for (const statement of rule.expr) {
    if (target) return undefined;
    if ("counter" in statement) continue;
    if ("dnat" in statement) {
      target = dnatTarget(statement.dnat);
      if (!target) return undefined;
      continue;
    }
    const read = "match" in statement ? readFieldMatch(statement.match, family, (f) => f === "inInterface" || f === "source" || f === "destination" || f === "destinationPort") : undefined;
    if (read?.field === "inInterface" && read.negated && !read.value.endsWith("+")) bridge = read.value;
    else if (read?.field === "source" && read.negated && read.value === "fe80::/10") continue;
    else if (read?.field === "destination" && !read.negated) bindAddress = withoutHostPrefix(read.value);
    else if (read?.field === "destinationPort" && !read.negated) [protocol, hostPort] = [read.protocol, read.value];
    else return undefined;
  }
  if (!target || !protocol || !hostPort) return undefined;
  const host = family === "ipv4" ? target.address : `[${target.address}]`;
  return {
    family,
    protocol,
    hostPort,
    bindAddress: bindAddress ?? (family === "ipv4" ? "0.0.0.0" : "::"),
    target: `${host}:${target.port.replace(":", "-")}`,
    containerAddress: target.address,
    containerPort: target.port,
    bridge: bridge ?? acceptingBridge(rules, target.address, family),
  };
}

/** `{ "addr": "172.17.0.2", "port": 80 }` (or a port `{ "range": [a, b] }`) as address and iptables-form port. */
function dnatTarget(dnat: unknown): { address: string; port: string } | undefined {
  if (typeof dnat !== "object" || dnat === null) return undefined;
  const { addr, port } = dnat as { addr?: unknown; port?: unknown };
  if (typeof addr !== "string") return undefined;
  if (typeof port === "number") return { address: addr, port: String(port) };
  const range = typeof port === "object" && port !== null ? (port as { range?: unknown }).range : undefined;
  return Array.isArray(range) && range.length === 2 ? { address: addr, port: `${range[0]}:${range[1]}` } : undefined;
}

/** The container address a rule's first `ip daddr C` names. */
function destinationOf(statements: readonly NftStatement[], family: Family): string | undefined {
  for (const statement of statements) {
    const read = "match" in statement ? readFieldMatch(statement.match, family, (f) => f === "destination") : undefined;
    if (read && !read.negated) return withoutHostPrefix(read.value);
  }
  return undefined;
}

/** The bridge whose `filter-forward-in__BR` chain accepts traffic to the container (when the DNAT rule names no bridge). */
function acceptingBridge(rules: readonly NftRuleItem[], address: string, family: Family): string | undefined {
  const rule = rules.find((r) => r.chain.startsWith(BRIDGE_CHAIN) && destinationOf(r.expr, family) === address);
  return rule?.chain.slice(BRIDGE_CHAIN.length);
}

function withoutHostPrefix(address: string): string {
  return address.replace(/\/(32|128)$/, "");
}
