import ipaddr from "ipaddr.js";
import type { Family } from "../family";

/**
 * Sets of addresses of one family as sorted, disjoint, non-adjacent closed
 * intervals of integers: what the evaluator splits the clients' address
 * space into. Every operation returns a new set.
 */

/** One closed interval `[first, last]` of addresses. */
export interface AddressInterval {
  readonly first: bigint;
  readonly last: bigint;
}

/** A set of addresses: sorted, disjoint, non-adjacent intervals. */
export type AddressSet = readonly AddressInterval[];

/** The number of bits of a family's addresses. */
export function addressBits(family: Family): number {
  return family === "ipv4" ? 32 : 128;
}

/** Every address of a family. */
export function everyAddress(family: Family): AddressSet {
  return [{ first: 0n, last: (1n << BigInt(addressBits(family))) - 1n }];
}

/** Whether a text is an address of the family (`10.0.0.1`, `2001:db8::1`; an IPv4-mapped IPv6 address counts as IPv6). */
export function isAddressOf(text: string, family: Family): boolean {
  if (!ipaddr.isValid(text)) return false;
  return ipaddr.parse(text).kind() === (family === "ipv4" ? "ipv4" : "ipv6");
}

/** An address as an integer; throws on text that is not an address. */
export function addressValue(text: string): bigint {
  let value = 0n;
  for (const byte of ipaddr.parse(text).toByteArray()) value = (value << 8n) | BigInt(byte);
  return value;
}

/** An integer back as an address of the family, in its normal short form. */
export function addressText(value: bigint, family: Family): string {
  const bytes: number[] = [];
  for (let i = 0; i < addressBits(family) / 8; i++) bytes.unshift(Number((value >> BigInt(8 * i)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/** The set an iptables address word names: `10.0.0.0/8`, `10.0.0.1`, `2001:db8::/32`; `undefined` when it is not one of the family. */
export function parsePrefix(text: string, family: Family): AddressSet | undefined {
  const [address, length] = text.split("/");
  if (!isAddressOf(address, family)) return undefined;
  const bits = addressBits(family);
  const prefix = length === undefined ? bits : Number(length);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const first = (addressValue(address) >> hostBits) << hostBits;
  return [{ first, last: first + (1n << hostBits) - 1n }];
}

/** The set an iprange word names: `10.0.0.1-10.0.0.9` (or one address); `undefined` when it is not one of the family. */
export function parseRange(text: string, family: Family): AddressSet | undefined {
  const [from, to = from] = text.split("-");
  if (!isAddressOf(from, family) || !isAddressOf(to, family)) return undefined;
  const first = addressValue(from);
  const last = addressValue(to);
  return first <= last ? [{ first, last }] : [];
}

/** The addresses in either set. */
export function union(a: AddressSet, b: AddressSet): AddressSet {
  const all = [...a, ...b].sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
  const out: AddressInterval[] = [];
  for (const interval of all) {
    const last = out[out.length - 1];
    if (last && interval.first <= last.last + 1n) out[out.length - 1] = { first: last.first, last: interval.last > last.last ? interval.last : last.last };
    else out.push(interval);
  }
  return out;
}

/** The addresses in both sets. */
export function intersect(a: AddressSet, b: AddressSet): AddressSet {
  const out: AddressInterval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const first = a[i].first > b[j].first ? a[i].first : b[j].first;
    const last = a[i].last < b[j].last ? a[i].last : b[j].last;
    if (first <= last) out.push({ first, last });
    if (a[i].last < b[j].last) i++;
    else j++;
  }
  return out;
}

/** The addresses of `a` that are not in `b`. */
export function subtract(a: AddressSet, b: AddressSet): AddressSet {
  const out: AddressInterval[] = [];
  let j = 0;
  for (const interval of a) {
    let first = interval.first;
    while (j < b.length && b[j].last < first) j++;
    let k = j;
    while (k < b.length && b[k].first <= interval.last) {
      if (b[k].first > first) out.push({ first, last: b[k].first - 1n });
      first = b[k].last + 1n;
      if (b[k].last >= interval.last) break;
      k++;
    }
    if (first <= interval.last) out.push({ first, last: interval.last });
  }
  return out;
}

/** The addresses of the family not in `a`. */
export function complement(a: AddressSet, family: Family): AddressSet {
  return subtract(everyAddress(family), a);
}

/** Whether two sets hold the same addresses. */
export function sameSet(a: AddressSet, b: AddressSet): boolean {
  return a.length === b.length && a.every((x, i) => x.first === b[i].first && x.last === b[i].last);
}

/** A set written as the fewest CIDR prefixes that cover exactly it (`10.0.0.0/8`, `192.0.2.7/32`). */
export function toPrefixes(set: AddressSet, family: Family): string[] {
  const bits = addressBits(family);
  const out: string[] = [];
  for (const { first, last } of set) {
    let start = first;
    while (start <= last) {
      let size = 0;
      while (size < bits && (start & ((1n << BigInt(size + 1)) - 1n)) === 0n && start + (1n << BigInt(size + 1)) - 1n <= last) size++;
      out.push(`${addressText(start, family)}/${bits - size}`);
      start += 1n << BigInt(size);
    }
  }
  return out;
}
