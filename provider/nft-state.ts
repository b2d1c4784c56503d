import { FAMILIES, type Family } from "./family";
import type { NftOutput } from "./host-protocol";
import { dockerNftLayout, type DockerNftLayout } from "./nftables/docker-layout";
import { DOCKER_TABLE, nftFamily, OUR_TABLE } from "./nftables/names";
import { parseNftDocument } from "./nftables/nft-json";
import { readNftTable, type NftTableState } from "./nftables/table-state";

/** What nftables holds of Docker's tables and ours, as read. */
export interface NftState {
  /** Whether `nft` can be used on the host (see {@link NftOutput}). */
  readonly status: NftOutput["status"];
  /** The host's fingerprint of our tables, which an apply must still find. */
  readonly fingerprint: string;
  /** Per family, our table; `undefined` where there is none. */
  readonly ours: Readonly<Record<Family, NftTableState | undefined>>;
  /** Per family, Docker's nftables layout; `undefined` where Docker's table is absent (Docker is not on nftables there). */
  readonly docker: Readonly<Record<Family, DockerNftLayout | undefined>>;
}

/** nftables as read where nothing of it is known (no nft, or a fake host). */
export const NO_NFT: NftState = { status: "missing", fingerprint: "", ours: { ipv4: undefined, ipv6: undefined }, docker: { ipv4: undefined, ipv6: undefined } };

/** Parses the nftables part of a read. */
export function nftStateOf(output: NftOutput): NftState {
  const table = (family: Family, name: string) => {
    const json = output.tables[`${nftFamily(family)} ${name}`];
    return json === undefined ? undefined : parseNftDocument(json);
  };
  const ours = (f: Family) => {
    const document = table(f, OUR_TABLE);
    return document && readNftTable(document, f);
  };
  const docker = (f: Family) => {
    const document = table(f, DOCKER_TABLE);
    return document && dockerNftLayout(document, f);
  };
  return {
    status: output.status,
    fingerprint: output.fingerprint,
    ours: { ipv4: ours("ipv4"), ipv6: ours("ipv6") },
    docker: { ipv4: docker("ipv4"), ipv6: docker("ipv6") },
  };
}

/** Whether Docker runs its firewall on nftables on the host as read: its `docker-bridges` table exists in a family. */
export function dockerOnNftables(nft: NftState): boolean {
  return FAMILIES.some((f) => nft.docker[f] !== undefined);
}
