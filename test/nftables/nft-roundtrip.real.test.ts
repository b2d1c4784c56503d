import type { Family } from "../../provider/family";
import { FAMILIES } from "../../provider/family";
import type { MatchField } from "../../provider/iptables/flag-table";
import type { Rule } from "../../provider/iptables/rule";
import { BASE_CHAINS, nftChainOf, nftFamily, OUR_TABLE } from "../../provider/nftables/names";
import { parseNftDocument } from "../../provider/nftables/nft-json";
import { renderNftRule } from "../../provider/nftables/nft-rule";
import { readNftTable, type NftLiveRule } from "../../provider/nftables/table-state";
import { formatTag } from "../../provider/ownership";
import { buildRule, familiesOf, type EngineRuleMatch } from "../../provider/resources/docker-user-rule";
import { Netns } from "../support/netns";
import { COMMENT_CASES, EVERY_FIELD_CASES, PROTOCOL_CASES } from "../support/rule-cases";

/*
 * What we render is what nft prints: every rule field, alone, negated and
 * combined, is built from user arguments (as `buildRule` builds it), loaded
 * into our own table in a fresh network namespace with one `nft -f` per
 * family (after `nft -c -f` accepted it), listed again as text and as JSON,
 * and compared: the printed line is our text, and the JSON reads back into
 * the same model.
 */

const OWNER = "roundtrip/nft/rule/case";
const A = "ACCEPT" as const;

/** One row: user arguments, and (when nft prints a port list in a canonical form of its own) the model value it reads back. */
interface Case {
  readonly name: string;
  readonly args: EngineRuleMatch;
  /** The port match nft's printed set reads back as (sorted, merged; one element is a plain `destinationPort`). */
  readonly readsPortsAs?: { readonly field: "destinationPort" | "destinationPorts"; readonly value: string };
  /** A match negated beyond what user input reaches (hand-written rules). */
  readonly negate?: MatchField;
}

const CASES: readonly Case[] = [
  { name: "action ACCEPT", args: { action: "ACCEPT" } },
  { name: "action DROP", args: { action: "DROP" } },
  { name: "action REJECT", args: { action: "REJECT" } },
  { name: "action RETURN", args: { action: "RETURN" } },
  { name: "chain INPUT", args: { action: "DROP", chain: "INPUT" } },
  { name: "source v4 host", args: { action: A, source: "192.0.2.7" } },
  { name: "source v4 network", args: { action: A, source: "10.0.0.0/8" } },
  { name: "source v4 negated", args: { action: A, source: "!198.51.100.0/24" } },
  { name: "source v6 non-canonical", args: { action: A, source: "2001:0DB8:0:0::1" } },
  { name: "source v6 network", args: { action: A, source: "2001:db8:AB::/48" } },
  { name: "source v6 negated", args: { action: A, source: "!2001:db8::/32" } },
  { name: "source v6 two equal zero runs", args: { action: A, source: "2001:db8:0:0:1:0:0:1" } },
  { name: "source ::2:3 (IPv4-compatible form)", args: { action: A, source: "::2:3" } },
  { name: "destination v4 host", args: { action: A, destination: "203.0.113.9" } },
  { name: "destination v4 negated", args: { action: A, destination: "!192.0.2.0/25" } },
  { name: "destination v6 negated network", args: { action: A, destination: "!fd00::1:0/112" } },
  { name: "sourceRange v4", args: { action: A, sourceRange: "192.0.2.10-192.0.2.20" } },
  { name: "sourceRange v4 negated", args: { action: A, sourceRange: "!10.0.0.1-10.0.0.255" } },
  { name: "sourceRange v4 single address", args: { action: A, sourceRange: "192.0.2.5-192.0.2.5" } },
  { name: "sourceRange v6 IPv4-compatible", args: { action: A, sourceRange: "::2:3-::2:9" } },
  { name: "sourceRange v6 non-canonical", args: { action: A, sourceRange: "2001:DB8::0001-2001:db8::00ff" } },
  { name: "destinationRange v4 negated", args: { action: A, destinationRange: "!198.51.100.1-198.51.100.9" } },
  { name: "destinationRange v6", args: { action: A, destinationRange: "2001:db8::a-2001:db8::1:0" } },
  { name: "inInterface", args: { action: A, inInterface: "eth0" } },
  { name: "inInterface negated", args: { action: A, inInterface: "!eth0" } },
  { name: "inInterface wildcard", args: { action: A, inInterface: "eth+" } },
  { name: "inInterface negated wildcard", args: { action: A, inInterface: "! br-+" } },
  { name: "inInterface VLAN name, 15 characters", args: { action: A, inInterface: "abcdefghij_k.lm" } },
  { name: "outInterface", args: { action: A, outInterface: "docker0" } },
  { name: "outInterface negated wildcard", args: { action: A, outInterface: "!br-+" } },
  ...PROTOCOL_CASES,
  { name: "port number", args: { action: A, protocol: "tcp", destinationPort: 80 } },
  { name: "port udp", args: { action: A, protocol: "udp", destinationPort: "8080" } },
  { name: "port range", args: { action: A, protocol: "tcp", destinationPort: "8000:8010" } },
  { name: "port range of one", args: { action: A, protocol: "tcp", destinationPort: "443:443" } },
  { name: "port range 1:65535", args: { action: A, protocol: "tcp", destinationPort: "1:65535" } },
  { name: "port negated", args: { action: "DROP", protocol: "tcp", destinationPort: 22 }, negate: "destinationPort" },
  { name: "port range negated", args: { action: "DROP", protocol: "udp", destinationPort: "1000:2000" }, negate: "destinationPort" },
  { name: "port list", args: { action: A, protocol: "tcp", destinationPort: [80, 443] } },
  { name: "port list unsorted", args: { action: A, protocol: "tcp", destinationPort: [443, 80, 22] }, readsPortsAs: { field: "destinationPorts", value: "22,80,443" } },
  { name: "port list adjacent, no range (kept apart)", args: { action: A, protocol: "tcp", destinationPort: [80, 81] } },
  { name: "port list with ranges (merged)", args: { action: A, protocol: "udp", destinationPort: ["8000:8010", 443, "9000", 8011] }, readsPortsAs: { field: "destinationPorts", value: "443,8000:8011,9000" } },
  { name: "port list duplicate", args: { action: A, protocol: "tcp", destinationPort: [80, 80] }, readsPortsAs: { field: "destinationPort", value: "80" } },
  { name: "port list of one", args: { action: A, protocol: "tcp", destinationPort: [22] } },
  { name: "port list of 15", args: { action: A, protocol: "tcp", destinationPort: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 65535] } },
  { name: "port list negated", args: { action: "DROP", protocol: "tcp", destinationPort: [80, "443:444"] }, negate: "destinationPorts" },
  { name: "originalSource v4 host", args: { action: A, originalSource: "192.0.2.7" } },
  { name: "originalSource v4 network", args: { action: A, originalSource: "10.0.0.0/8" } },
  { name: "originalSource v4 negated", args: { action: A, originalSource: "!198.51.100.0/24" } },
  { name: "originalSource v6 negated network", args: { action: A, originalSource: "!2001:DB8::/32" } },
  { name: "originalSource v4 /0", args: { action: A, originalSource: "0.0.0.0/0" } },
  { name: "originalDestination v4 host /32", args: { action: A, originalDestination: "203.0.113.5/32" } },
  { name: "originalDestination v6 host /128", args: { action: A, originalDestination: "2001:db8::5/128" } },
  { name: "originalDestinationPort tcp", args: { action: A, protocol: "tcp", originalDestinationPort: 8080 } },
  { name: "originalDestinationPort udp range", args: { action: A, protocol: "udp", originalDestinationPort: "8000:8010" } },
  { name: "originalDestinationPort negated", args: { action: "DROP", protocol: "tcp", originalDestinationPort: "8080" }, negate: "originalDestinationPort" },
  { name: "originalDestinationPort with a destination port", args: { action: A, protocol: "tcp", destinationPort: 80, originalDestinationPort: 8080 } },
  { name: "ctstate one", args: { action: A, ctstate: ["NEW"] } },
  { name: "ctstate out of order", args: { action: A, ctstate: ["ESTABLISHED", "NEW"] } },
  { name: "ctstate every connection state", args: { action: A, ctstate: ["UNTRACKED", "ESTABLISHED", "RELATED", "NEW", "INVALID"] } },
  { name: "ctstate negated", args: { action: "DROP", ctstate: ["INVALID", "NEW"] }, negate: "ctstate" },
  { name: "ctstate DNAT", args: { action: A, ctstate: ["DNAT"] } },
  { name: "ctstate SNAT,DNAT", args: { action: A, ctstate: ["DNAT", "SNAT"] } },
  { name: "not DNAT (notDnat)", args: { action: "DROP", notDnat: true } },
  { name: "original direction", args: { action: "DROP", originalDirection: true } },
  ...COMMENT_CASES,
  ...EVERY_FIELD_CASES,
  { name: "PublishedPort forward ACCEPT", args: { action: A, source: "192.0.2.0/24", protocol: "tcp", ctstate: ["DNAT"], originalDestinationPort: 8080, comment: "web" } },
  { name: "PublishedPort forward DROP", args: { action: "DROP", inInterface: "eth0", protocol: "tcp", ctstate: ["DNAT"], originalDestinationPort: "8000:8010" } },
  { name: "PublishedPort proxy DROP", args: { action: "DROP", chain: "INPUT", inInterface: "!lo", protocol: "tcp", destinationPort: 8080, originalDirection: true } },
  { name: "PublishedPort direct guard", args: { action: "DROP", inInterface: "!docker0", outInterface: "docker0", protocol: "tcp", destinationPort: "80", notDnat: true, originalDirection: true } },
];

/** One rule to load in a family, and what nft must print and read back. */
interface Expected {
  readonly name: string;
  readonly tag: string;
  /** The model nft's JSON must read back as. */
  readonly model: Rule;
  readonly text: string;
  readonly chain: string;
}

function expectedRules(family: Family): Expected[] {
  return CASES.flatMap((c, index) => {
    const families = familiesOf(c.args);
    if (typeof families === "string") throw new Error(`case "${c.name}": ${families}`);
    if (!families.includes(family)) return [];
    const tag = formatTag({ owner: OWNER, priority: c.args.priority ?? 500, index });
    const built = buildRule(c.args, family, c.args.comment ? `${tag} ${c.args.comment}` : tag);
    const field = c.negate;
    const rule: Rule = field ? { ...built, matches: { ...built.matches, [field]: { ...built.matches[field]!, negated: true } } } : built;
    const { destinationPorts, ...others } = rule.matches;
    const reads = c.readsPortsAs;
    const model: Rule = reads && destinationPorts ? { ...rule, matches: { ...others, [reads.field]: { ...destinationPorts, value: reads.value } } } : rule;
    return [{ name: c.name, tag, model, text: renderNftRule(rule, family), chain: nftChainOf(c.args.chain ?? "DOCKER-USER") }];
  });
}

/** The script that makes our table with its base chains and every expected rule, in order. */
function loadScript(family: Family, rules: readonly Expected[]): string {
  const where = `${nftFamily(family)} ${OUR_TABLE}`;
  const chains = BASE_CHAINS.map((c) => `add chain ${where} ${c.name} { type ${c.type} hook ${c.hook} priority ${c.priorityText}; policy ${c.policy}; }`);
  return [`add table ${where}`, ...chains, ...rules.map((r) => `add rule ${where} ${r.chain} ${r.text}`), ""].join("\n");
}

/** The rule lines of `nft list table` (one chain after the other), without indentation. */
function printedRules(listing: string): string[] {
  return listing
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^(table|chain|type) /.test(l) && l !== "}");
}

interface Loaded {
  readonly expected: readonly Expected[];
  readonly printed: readonly string[];
  readonly live: readonly NftLiveRule[];
}

let ns: Netns;
const loaded = new Map<Family, Loaded>();

beforeAll(async () => {
  ns = await Netns.create("nftrt");
  for (const family of FAMILIES) {
    const expected = expectedRules(family);
    const script = loadScript(family, expected);
    await ns.run(["nft", "-c", "-f", "-"], { stdin: script });
    await ns.run(["nft", "-f", "-"], { stdin: script });
    const target = [nftFamily(family), OUR_TABLE];
    const printed = printedRules(await ns.run(["nft", "list", "table", ...target]));
    const table = readNftTable(parseNftDocument(await ns.run(["nft", "-j", "list", "table", ...target])), family)!;
    // forward's rules, then input's: the order the listing prints them.
    const live = BASE_CHAINS.flatMap((spec) => table.chains.find((c) => c.name === spec.name)?.rules ?? []);
    loaded.set(family, { expected: [...expected.filter((e) => e.chain === "forward"), ...expected.filter((e) => e.chain === "input")], printed, live });
  }
});

afterAll(async () => {
  await ns?.delete();
});

describe.each(FAMILIES)("nft round trip, %s", (family) => {
  const names = expectedRules(family).map((e) => e.name);

  test("nft printed one line per rule, and the JSON one rule per line", () => {
    const { expected, printed, live } = loaded.get(family)!;
    expect(printed).toHaveLength(expected.length);
    expect(live).toHaveLength(expected.length);
  });

  test.each(names)("%s", (name) => {
    const { expected, printed, live } = loaded.get(family)!;
    const i = expected.findIndex((e) => e.name === name);
    expect({ printed: printed[i], read: live[i].rule, text: live[i].text }).toEqual({ printed: expected[i].text, read: expected[i].model, text: expected[i].text });
    expect(live[i].tag?.index).toBe(Number(expected[i].tag.split(":").pop()));
  });
});
