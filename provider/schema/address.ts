import ipaddr from "ipaddr.js";
import type { Family } from "../family";
import { quote } from "./quote";

/** A validated address or network, in the forms iptables prints. */
export interface Address {
  readonly family: Family;
  /** The address, or the network address (no host bits set), as iptables prints it. */
  readonly address: string;
  /** Prefix length: 32 or 128 for a single host. */
  readonly prefix: number;
}

/**
 * Parses an IPv4 or IPv6 address or CIDR network (`192.0.2.7`,
 * `198.51.100.0/24`, `2001:db8::/32`). Returns a message instead when the
 * text is not one, or is a network with host bits set (`10.1.2.3/8`): iptables
 * would silently clear them, so the message names the network it would be.
 */
export function parseAddress(text: string): Address | string {
  const [addr, prefixText, extra] = text.split("/");
  if (extra !== undefined) return `${quote(text)} is not an address or CIDR network`;
  const family = ipaddr.IPv4.isValidFourPartDecimal(addr) ? "ipv4" : isPlainIPv6(addr) ? "ipv6" : undefined;
  if (!family) return `${quote(text)} is not an IPv4 or IPv6 address${prefixText === undefined ? "" : " or network"}`;
  const max = family === "ipv4" ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `${quote(text)} has an invalid prefix length (0–${max})`;
  const network = family === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${prefix}`) : ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${prefix}`);
  const given = ipaddr.parse(addr).toByteArray();
  if (compareBytes(given, network.toByteArray()) !== 0) return `${quote(text)} has host bits set; did you mean ${quote(`${render(network)}/${prefix}`)}?`;
  return { family, address: render(network), prefix };
}

/**
 * Parses an iprange `first-last` pair of one family, first ≤ last.
 * Returns a message when it is not one.
 */
export function parseRange(text: string): { family: Family; text: string } | string {
  const parts = text.split("-");
  if (parts.length !== 2) return `${quote(text)} is not a range like 192.0.2.10-192.0.2.20`;
  const [first, last] = parts.map(parseAddress);
  if (typeof first === "string" || typeof last === "string" || first.prefix !== (first.family === "ipv4" ? 32 : 128) || last.prefix !== first.prefix) {
    return `${quote(text)} is not a range of two addresses like 192.0.2.10-192.0.2.20`;
  }
  if (first.family !== last.family) return `${quote(text)} mixes IPv4 and IPv6`;
  const a = ipaddr.parse(first.address).toByteArray();
  const b = ipaddr.parse(last.address).toByteArray();
  if (compareBytes(a, b) > 0) return `${quote(text)} starts after it ends`;
  return { family: first.family, text: `${first.address}-${last.address}` };
}

/** `-s`/`-d` form: always with a prefix (`10.0.0.1/32`). */
export function headerForm(a: Address): string {
  return `${a.address}/${a.prefix}`;
}

/** conntrack form: a single host has no prefix (`10.0.0.1`), a network does. */
export function conntrackForm(a: Address): string {
  return a.prefix === (a.family === "ipv4" ? 32 : 128) ? a.address : `${a.address}/${a.prefix}`;
}

function isPlainIPv6(addr: string): boolean {
  // No zone ids, no IPv4-mapped forms (iptables would print them differently; use the IPv4 address).
  if (!/^[0-9a-fA-F:]+$/.test(addr) || !ipaddr.IPv6.isValid(addr)) return false;
  return !ipaddr.IPv6.parse(addr).isIPv4MappedAddress();
}

/**
 * Prints an address as iptables does (glibc `inet_ntop`): RFC 5952 for
 * IPv6, except that an address whose first six words are zero and seventh
 * is not ends in a dotted quad (`::0.2.0.3`).
 */
function render(a: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (a.kind() === "ipv4") return a.toString();
  const words = (a as ipaddr.IPv6).parts;
  if (words.slice(0, 6).every((w) => w === 0) && words[6] !== 0) {
    return `::${[words[6] >> 8, words[6] & 255, words[7] >> 8, words[7] & 255].join(".")}`;
  }
  return (a as ipaddr.IPv6).toRFC5952String();
}

function compareBytes(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
