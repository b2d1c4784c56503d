import type { Family } from "../family";
import { DOCKER_TABLE, familyOfNft, OUR_TABLE } from "./names";
import type { NftDocument } from "./nft-json";

/** Which tables a host has, per family, as `nft -j list tables` shows them. */
export interface NftTableList {
  /** Whether Docker runs its firewall on nftables in the family (its `docker-bridges` table is there). */
  readonly dockerNftables: Readonly<Record<Family, boolean>>;
  /** Whether our table is there. */
  readonly ours: Readonly<Record<Family, boolean>>;
}

/** Reads a parsed `nft -j list tables` document. */
export function readTableList(document: NftDocument): NftTableList {
  const has = (name: string, family: Family) => document.tables.some((t) => t.name === name && familyOfNft(t.family) === family);
  return {
    dockerNftables: { ipv4: has(DOCKER_TABLE, "ipv4"), ipv6: has(DOCKER_TABLE, "ipv6") },
    ours: { ipv4: has(OUR_TABLE, "ipv4"), ipv6: has(OUR_TABLE, "ipv6") },
  };
}
