import { DOCKER_USER } from "../docker/layout";
import type { GuardedChain } from "../chains";
import type { Family } from "../family";

/**
 * The names of things in nftables: our own table and its base chains, and
 * Docker's. On a host where Docker 29 runs its firewall on nftables there is
 * no DOCKER-USER: our rules live in our own table (one per family), whose
 * base chains hook forward and input just before Docker's (priority
 * `filter - 10`). We never write into Docker's tables.
 */

/** Our table's name, in both families. */
export const OUR_TABLE = "pulumi-docker-firewall";

/** Docker's table's name (Docker 29, `"firewall-backend": "nftables"`), in both families. */
export const DOCKER_TABLE = "docker-bridges";

/** The nft family word of an IP family. */
export type NftFamily = "ip" | "ip6";

/** `ip` for IPv4, `ip6` for IPv6. */
export function nftFamily(family: Family): NftFamily {
  return family === "ipv4" ? "ip" : "ip6";
}

/** The IP family of an nft family word; `undefined` for any other (`inet`, `bridge`, …). */
export function familyOfNft(word: string): Family | undefined {
  return word === "ip" ? "ipv4" : word === "ip6" ? "ipv6" : undefined;
}

/** A base chain of our table. */
export type NftChainName = "forward" | "input";

/** What one of our base chains is declared as. */
export interface BaseChainSpec {
  readonly name: NftChainName;
  readonly type: "filter";
  readonly hook: NftChainName;
  /** The numeric priority nft reports in JSON (`filter - 10` is -10). */
  readonly priority: number;
  /** The priority as nft prints and takes it. */
  readonly priorityText: string;
  readonly policy: "accept";
}

/** Our base chains, in the order the transaction creates them. */
export const BASE_CHAINS: readonly BaseChainSpec[] = [
  { name: "forward", type: "filter", hook: "forward", priority: -10, priorityText: "filter - 10", policy: "accept" },
  { name: "input", type: "filter", hook: "input", priority: -10, priorityText: "filter - 10", policy: "accept" },
];

/** The nft chain holding the rules of a guarded chain: DOCKER-USER's in `forward`, INPUT's in `input`. */
export function nftChainOf(chain: GuardedChain): NftChainName {
  return chain === DOCKER_USER ? "forward" : "input";
}

/** The guarded chain whose rules an nft chain of ours holds; any other chain keeps its nft name. */
export function guardedChainOf(nftChain: string): string {
  return nftChain === "forward" ? DOCKER_USER : nftChain === "input" ? "INPUT" : nftChain;
}
