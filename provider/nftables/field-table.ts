import type { Family } from "../family";
import type { MatchField } from "../iptables/flag-table";
import type { MatchValue } from "../iptables/rule";
import { parseAddress, parseRange } from "../schema/address";
import { CT_STATES } from "../schema/fields";
import { nftFamily } from "./names";
import { NftRenderError } from "./nft-errors";
import type { NftJsonValue } from "./nft-json";

/**
 * The one table that knows how a field of the rule model (`Rule`, the same
 * model iptables rules use) becomes nft words and nft JSON, and back.
 * Rendering, encoding as JSON and reading JSON all walk it.
 *
 * The order of the rows is the order the words are written, which is the
 * order `nft list` prints them back: nft keeps a rule's statements in the
 * order given. What nft rewrites is written here already in its printed
 * form: a host address without its `/32` or `/128`, iptables' interface
 * wildcard `+` as nft's `*`, port lists sorted (and merged, when one of them
 * is a range), conntrack flags in their bit order, and `meta l4proto tcp`
 * left out before `tcp dport` (nft drops it as the port match's implied
 * dependency).
 *
 * The comment and the verdict are not matches in nft (the comment is a
 * property of the rule, printed last); `nft-rule.ts` writes them.
 */

/** The matches of a rule. */
export type Matches = Readonly<Partial<Record<MatchField, MatchValue>>>;

/** A field's value as nft words (the right of the operator) and as JSON (`right` of a match). */
export interface NftValue {
  readonly text: string;
  readonly json: NftJsonValue;
}

/** What a match names, as nft words and as JSON (`left` of a match). */
export interface NftSubject {
  readonly text: string;
  readonly json: NftJsonValue;
}

/** A field's value read back out of a match statement. */
export interface ReadValue {
  readonly value: string;
  /** The protocol a port match implies (`tcp` of `tcp dport`). */
  readonly protocol?: string;
}

/**
 * How a field is negated: `!=` for a value; `!` for conntrack flags, where
 * `ct status ! dnat` means "the DNAT bit is clear" (nft 1.0.6 takes
 * `ct status != dnat` as "the status word is not exactly DNAT", which
 * almost always matches).
 */
export type Negation = "!=" | "!";

/** One row: a field, its words and JSON, and how it reads back. */
export interface NftFieldSpec {
  readonly field: MatchField;
  /** How it is negated; `undefined` when it cannot be. */
  readonly negation: Negation | undefined;
  /** The JSON operator of a plain match: `==`, or `in` for flags. */
  readonly positive: "==" | "in";
  /** Whether a rule writes this field at all (`meta l4proto` is implied by a port match). */
  readonly written: (matches: Matches) => boolean;
  /** What the match names; may depend on the value (state or status) and on other fields (the protocol of a port). */
  readonly subject: (value: string, matches: Matches, family: Family) => NftSubject;
  /** The value's words and JSON. */
  readonly value: (value: string, family: Family) => NftValue;
  /** This field's value, when a match statement's `left` and `right` are this field's; else `undefined`. */
  readonly read: (left: NftJsonValue, right: NftJsonValue, family: Family) => ReadValue | undefined;
}

/** Conntrack states (`ct state`), by bit, and statuses (`ct status`): nft prints a list in bit order. */
const STATE_BITS: Readonly<Record<string, number>> = { INVALID: 1, ESTABLISHED: 2, RELATED: 4, NEW: 8, UNTRACKED: 64, SNAT: 0x10, DNAT: 0x20 };
const STATUS_FLAGS = new Set(["SNAT", "DNAT"]);

const PROTOCOLS = new Set(["tcp", "udp", "icmp", "ipv6-icmp"]);
const PORT_PROTOCOLS = new Set(["tcp", "udp"]);
const NFT_INTERFACE = /^[A-Za-z0-9_.-]+\*?$/;

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The one key of a JSON object such as `{ "payload": {…} }`, with its value. */
function single(value: unknown, key: string): Readonly<Record<string, unknown>> | undefined {
  if (!isObject(value) || Object.keys(value).length !== 1) return undefined;
  const inner = value[key];
  return isObject(inner) ? inner : undefined;
}

// Subjects.

function payload(protocol: string, field: string): NftSubject {
  return { text: `${protocol} ${field}`, json: { payload: { protocol, field } } };
}

function isPayload(left: unknown, protocol: string, field: string): boolean {
  const p = single(left, "payload");
  return p?.protocol === protocol && p.field === field && Object.keys(p).length === 2;
}

function metaKey(left: unknown, key: string): boolean {
  const m = single(left, "meta");
  return m?.key === key && Object.keys(m).length === 1;
}

function ctKey(left: unknown, key: string, dir?: string): boolean {
  const c = single(left, "ct");
  return c?.key === key && c.dir === dir && Object.keys(c).length === (dir === undefined ? 1 : 2);
}

function ctSubject(key: string, dir?: string): NftSubject {
  return { text: dir ? `ct ${dir} ${key}` : `ct ${key}`, json: { ct: dir ? { key, dir } : { key } } };
}

// Values.

/** A host prints without its full-length prefix; a network as `addr/len`. */
function addressValue(value: string, family: Family): NftValue {
  const [address, prefix] = value.split("/");
  const full = family === "ipv4" ? "32" : "128";
  if (prefix === undefined || prefix === full) return { text: address, json: address };
  return { text: value, json: { prefix: { addr: address, len: Number(prefix) } } };
}

/** Reads an address back; `withHostPrefix` gives a host its `/32` or `/128` (the `-s`/`-d` form). */
function readAddress(right: unknown, family: Family, withHostPrefix: boolean): string | undefined {
  const prefix = single(right, "prefix");
  const text = typeof right === "string" ? right : prefix && typeof prefix.addr === "string" && typeof prefix.len === "number" ? `${prefix.addr}/${prefix.len}` : undefined;
  if (text === undefined) return undefined;
  const [address, length] = text.split("/");
  const plain = family === "ipv6" ? withoutDottedQuad(address) : address;
  const parsed = parseAddress(length === undefined ? plain : `${plain}/${length}`);
  if (typeof parsed === "string" || parsed.family !== family) return undefined;
  const full = parsed.prefix === (family === "ipv4" ? 32 : 128);
  return full && !withHostPrefix ? parsed.address : `${parsed.address}/${parsed.prefix}`;
}

/**
 * nft, like iptables, prints an IPv6 address whose first 96 bits are zero
 * with a dotted quad (`::0.2.0.3`); user input is hex only (`::2:3`).
 */
function withoutDottedQuad(address: string): string {
  const m = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!m) return address;
  const [a, b, c, d] = m.slice(2).map(Number);
  return `${m[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function rangeValue(value: string): NftValue {
  const [first, last] = value.split("-");
  return { text: value, json: { range: [first, last] } };
}

function readRange(right: unknown, family: Family): string | undefined {
  const range = isObject(right) && Array.isArray(right.range) && Object.keys(right).length === 1 ? right.range : undefined;
  if (!range || range.length !== 2 || typeof range[0] !== "string" || typeof range[1] !== "string") return undefined;
  const parsed = parseRange(family === "ipv6" ? `${withoutDottedQuad(range[0])}-${withoutDottedQuad(range[1])}` : `${range[0]}-${range[1]}`);
  return typeof parsed === "string" || parsed.family !== family ? undefined : parsed.text;
}

function interfaceValue(value: string): NftValue {
  const name = value.endsWith("+") ? `${value.slice(0, -1)}*` : value;
  return { text: `"${name}"`, json: name };
}

function readInterface(right: unknown): string | undefined {
  return typeof right === "string" && NFT_INTERFACE.test(right) ? right.replace(/\*$/, "+") : undefined;
}

/** One port or range, iptables form (`80`, `8000:8010`), as nft writes it (`80`, `8000-8010`). */
function portElement(text: string): NftValue {
  const [a, b] = text.split(":").map(Number);
  return b === undefined ? { text: String(a), json: a } : { text: `${a}-${b}`, json: { range: [a, b] } };
}

function readPort(right: unknown): string | undefined {
  if (typeof right === "number" && Number.isInteger(right)) return String(right);
  const range = isObject(right) && Array.isArray(right.range) && Object.keys(right).length === 1 ? right.range : undefined;
  if (range?.length === 2 && range.every((n) => typeof n === "number" && Number.isInteger(n))) return `${range[0]}:${range[1]}`;
  return undefined;
}

/**
 * A port list as nft prints it: sorted; when any element is a range (an
 * interval set), overlapping and adjacent elements merged, and a one-port
 * range printed as the port; otherwise only duplicates dropped. A list
 * left with one element is that element (`tcp dport 80`), which reads back
 * as a `destinationPort`.
 */
function portSetValue(value: string): NftValue {
  const items = value.split(",").map((p) => p.split(":").map(Number));
  const interval = items.some((i) => i.length === 2);
  const spans = items.map(([a, b = a]) => [a, b] as [number, number]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const merged: [number, number][] = [];
  for (const [a, b] of spans) {
    const last = merged[merged.length - 1];
    if (last && (interval ? a <= last[1] + 1 : a === last[0] && b === last[1])) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  const elements = merged.map(([a, b]) => portElement(a === b ? String(a) : `${a}:${b}`));
  // nft takes a set of one element as that element.
  if (elements.length === 1) return elements[0];
  return { text: `{ ${elements.map((e) => e.text).join(", ")} }`, json: { set: elements.map((e) => e.json) } };
}

function readPortSet(right: unknown): string | undefined {
  const set = isObject(right) && Array.isArray(right.set) && Object.keys(right).length === 1 ? right.set : undefined;
  if (!set || set.length === 0) return undefined;
  const ports = set.map(readPort);
  return ports.every((p) => p !== undefined) ? ports.join(",") : undefined;
}

/** Whether a conntrack state list is `ct status` (SNAT/DNAT) or `ct state`; mixing them has no one nft match. */
function ctKeyOf(value: string): "state" | "status" {
  const flags = value.split(",");
  const statuses = flags.filter((f) => STATUS_FLAGS.has(f)).length;
  if (statuses > 0 && statuses < flags.length) {
    throw new NftRenderError(`conntrack states ${value} mix connection states with SNAT/DNAT: nftables matches them with "ct state" and "ct status", and one rule cannot match either; split the rule`);
  }
  return statuses > 0 ? "status" : "state";
}

function ctFlagsValue(value: string): NftValue {
  const words = value
    .split(",")
    .sort((a, b) => STATE_BITS[a] - STATE_BITS[b])
    .map((f) => f.toLowerCase());
  return { text: words.join(","), json: words.length === 1 ? words[0] : words };
}

function readCtFlags(right: unknown, key: string): string | undefined {
  const words = typeof right === "string" ? [right] : Array.isArray(right) && right.every((w) => typeof w === "string") ? (right as string[]) : undefined;
  const flags = words?.map((w) => w.toUpperCase());
  if (!flags || flags.length === 0 || flags.some((f) => !Object.hasOwn(STATE_BITS, f) || STATUS_FLAGS.has(f) !== (key === "status"))) return undefined;
  return CT_STATES.filter((s) => flags.includes(s)).join(",");
}

const always = () => true;

function addressRow(field: MatchField, direction: "saddr" | "daddr", withHostPrefix: boolean): NftFieldSpec {
  return {
    field,
    negation: "!=",
    positive: "==",
    written: always,
    subject: (_v, _m, family) => payload(nftFamily(family), direction),
    value: addressValue,
    read: (left, right, family) => {
      const value = isPayload(left, nftFamily(family), direction) ? readAddress(right, family, withHostPrefix) : undefined;
      return value === undefined ? undefined : { value };
    },
  };
}

function rangeRow(field: MatchField, direction: "saddr" | "daddr"): NftFieldSpec {
  return {
    field,
    negation: "!=",
    positive: "==",
    written: always,
    subject: (_v, _m, family) => payload(nftFamily(family), direction),
    value: rangeValue,
    read: (left, right, family) => {
      const value = isPayload(left, nftFamily(family), direction) ? readRange(right, family) : undefined;
      return value === undefined ? undefined : { value };
    },
  };
}

function interfaceRow(field: MatchField, key: "iifname" | "oifname"): NftFieldSpec {
  return {
    field,
    negation: "!=",
    positive: "==",
    written: always,
    subject: () => ({ text: key, json: { meta: { key } } }),
    value: interfaceValue,
    read: (left, right) => {
      const value = metaKey(left, key) ? readInterface(right) : undefined;
      return value === undefined ? undefined : { value };
    },
  };
}

function portRow(field: MatchField, value: (text: string) => NftValue, read: (right: unknown) => string | undefined): NftFieldSpec {
  return {
    field,
    negation: "!=",
    positive: "==",
    written: always,
    subject: (_v, matches) => {
      const protocol = matches.protocol?.value;
      if (protocol === undefined || !PORT_PROTOCOLS.has(protocol)) throw new NftRenderError(`a destination port needs protocol tcp or udp, not ${protocol ?? "none"}`);
      return payload(protocol, "dport");
    },
    value,
    read: (left, right) => {
      const p = single(left, "payload");
      const protocol = typeof p?.protocol === "string" && PORT_PROTOCOLS.has(p.protocol) && isPayload(left, p.protocol, "dport") ? p.protocol : undefined;
      const ports = protocol === undefined ? undefined : read(right);
      return ports === undefined ? undefined : { value: ports, protocol };
    },
  };
}

function conntrackAddressRow(field: MatchField, direction: "saddr" | "daddr"): NftFieldSpec {
  return {
    field,
    negation: "!=",
    positive: "==",
    written: always,
    subject: (_v, _m, family) => ctSubject(`${nftFamily(family)} ${direction}`, "original"),
    value: addressValue,
    read: (left, right, family) => {
      const value = ctKey(left, `${nftFamily(family)} ${direction}`, "original") ? readAddress(right, family, false) : undefined;
      return value === undefined ? undefined : { value };
    },
  };
}

/** Every field, in the order nft prints it. */
export const NFT_FIELD_TABLE: readonly NftFieldSpec[] = [
  addressRow("source", "saddr", true),
  addressRow("destination", "daddr", true),
  interfaceRow("inInterface", "iifname"),
  interfaceRow("outInterface", "oifname"),
  {
    field: "protocol",
    negation: undefined,
    positive: "==",
    written: (matches) => !matches.destinationPort && !matches.destinationPorts,
    subject: () => ({ text: "meta l4proto", json: { meta: { key: "l4proto" } } }),
    value: (value) => ({ text: value, json: value }),
    read: (left, right) => (metaKey(left, "l4proto") && typeof right === "string" && PROTOCOLS.has(right) ? { value: right } : undefined),
  },
  portRow("destinationPort", portElement, readPort),
  portRow("destinationPorts", portSetValue, readPortSet),
  rangeRow("sourceRange", "saddr"),
  rangeRow("destinationRange", "daddr"),
  {
    field: "ctstate",
    negation: "!",
    positive: "in",
    written: always,
    subject: (value) => ctSubject(ctKeyOf(value)),
    value: ctFlagsValue,
    read: (left, right) => {
      const key = ctKey(left, "state") ? "state" : ctKey(left, "status") ? "status" : undefined;
      const value = key === undefined ? undefined : readCtFlags(right, key);
      return value === undefined ? undefined : { value };
    },
  },
  conntrackAddressRow("originalSource", "saddr"),
  conntrackAddressRow("originalDestination", "daddr"),
  {
    field: "originalDestinationPort",
    negation: "!=",
    positive: "==",
    written: always,
    subject: (_v, matches) => {
      // nft reads the port's type from the protocol matched before it (`meta l4proto tcp` or `tcp dport`).
      const protocol = matches.protocol?.value;
      if (protocol === undefined || !PORT_PROTOCOLS.has(protocol)) throw new NftRenderError(`an original destination port needs protocol tcp or udp in nftables, not ${protocol ?? "none"}`);
      return ctSubject("proto-dst", "original");
    },
    value: portElement,
    read: (left, right) => {
      const value = ctKey(left, "proto-dst", "original") ? readPort(right) : undefined;
      return value === undefined ? undefined : { value };
    },
  },
  {
    field: "ctdir",
    negation: undefined,
    positive: "==",
    written: always,
    subject: () => ctSubject("direction"),
    value: (value) => ({ text: value.toLowerCase(), json: value.toLowerCase() }),
    read: (left, right) => (ctKey(left, "direction") && (right === "original" || right === "reply") ? { value: right.toUpperCase() } : undefined),
  },
];

/** A field read out of one `match` statement. */
export interface FieldMatch extends ReadValue {
  readonly field: MatchField;
  readonly negated: boolean;
}

/**
 * Reads one `match` statement (`{ op, left, right }`) as the first row of
 * the table it fits, among the fields `wanted` lets through; `undefined`
 * when it fits none.
 */
export function readFieldMatch(match: NftJsonValue, family: Family, wanted: (field: MatchField) => boolean = always): FieldMatch | undefined {
  if (!isObject(match) || Object.keys(match).length !== 3) return undefined;
  const { op, left, right } = match;
  for (const spec of NFT_FIELD_TABLE) {
    const negated = op === spec.negation;
    if (!wanted(spec.field) || (op !== spec.positive && !negated)) continue;
    const read = spec.read(left, right, family);
    if (read) return { field: spec.field, negated, ...read };
  }
  return undefined;
}
