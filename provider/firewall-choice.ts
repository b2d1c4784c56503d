import { dockerOnNftables, type NftState } from "./nft-state";

/**
 * Where a resource's rules live: `iptables` (DOCKER-USER and INPUT, beside
 * Docker's iptables rules), or `nftables` (our own nftables tables, beside
 * Docker 29's nftables backend, which has no DOCKER-USER).
 */
export type Firewall = "iptables" | "nftables";

/** The `firewall` input: a firewall by name, or `auto` (the one Docker runs on, read from the host). */
export type FirewallChoice = "auto" | Firewall;

/** Every choice, for the schema. */
export const FIREWALL_CHOICES = ["auto", "iptables", "nftables"] as const satisfies readonly FirewallChoice[];

/** The firewall a choice means on the host as read: `auto` follows Docker. */
export function firewallOf(nft: NftState, choice: FirewallChoice = "auto"): Firewall {
  if (choice !== "auto") return choice;
  return dockerOnNftables(nft) ? "nftables" : "iptables";
}

/** Why our nftables tables cannot be used on the host as read, in words naming what to install; `undefined` when they can. */
export function nftUnusable(nft: NftState): string | undefined {
  if (nft.status === "missing") return "nft is not installed on this host (Debian and Ubuntu: apt-get install nftables)";
  if (nft.status === "no-json") return "nft on this host cannot print JSON (nft -j): install nftables 0.9.3 or later built with JSON support (Debian and Ubuntu: apt-get install nftables)";
  return undefined;
}
