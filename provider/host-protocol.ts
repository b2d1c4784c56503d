import type { FirewallError } from "./errors";
import type { Family } from "./family";
import type { Host } from "./host/host";

/** One family's part of a read. */
export interface FamilyOutput {
  /** What iptables-save printed (every table). */
  readonly save: string;
  /** The host's fingerprint of it; `undefined` when the family's iptables cannot be used on the host. */
  readonly fingerprint?: string;
}

/** What nftables holds of Docker's tables and ours. */
export interface NftOutput {
  /** Whether `nft` can be used: `missing` (not installed), `no-json` (too old, or built without JSON), else `ready`. */
  readonly status: "ready" | "missing" | "no-json";
  /** Per `FAMILY NAME` (`ip docker-bridges`, `ip6 pulumi-docker-firewall`), the table as `nft -j list table` printed it; absent tables are not listed. */
  readonly tables: Readonly<Record<string, string>>;
  /** The host's fingerprint of our own tables (`""` when nft cannot be used). */
  readonly fingerprint: string;
}

/** What a read of the host's firewall gives: each family's tables and fingerprint, the listening sockets, and nftables' tables. */
export interface ReadOutput extends Record<Family, FamilyOutput> {
  /** What `ss -Hltunp` printed; `""` where it is not installed. */
  readonly listeners: string;
  readonly nft: NftOutput;
}

/** What an apply does in one family. */
export interface FamilyWork {
  /** `iptables-restore --noflush` input; `""` for none. */
  readonly restore: string;
  /** The tables to drop afterwards, each if it is empty then. */
  readonly dropTables: readonly ("filter" | "mangle")[];
}

/** What an apply does: each family's work, how to take ipv4's part back when ipv6's fails, and our nftables tables' change. */
export interface ApplyWork extends Record<Family, FamilyWork> {
  /** `iptables-restore --noflush` input that undoes ipv4's `restore` (see rollback-script.ts); `""` for none. */
  readonly undoIpv4: string;
  /** An `nft -f` script for our own nftables tables, applied (atomically) before the restores; `""` for none. */
  readonly nft: string;
}

/** One transaction, as the host is asked to apply it. */
export interface ApplyRequest {
  /** Per family, the fingerprint the host must still have for the family's work to run (see {@link ReadOutput}). */
  readonly fingerprints: Readonly<Record<Family, string>>;
  /** The fingerprint our nftables tables must still have for the `nft` work to run. */
  readonly nftFingerprint: string;
  /** Names this transaction's turn: a conflict reserves the next turn for the retry that passes the same ticket. */
  readonly ticket: string;
  readonly work: ApplyWork;
}

/**
 * What came of an apply. Nothing was changed for `conflict`, `refused` and
 * `rejected`; for `failed` and `unfinished` the host may hold part of the
 * transaction and must be read back to know.
 */
export type ApplyAnswer =
  /** Applied; the host as read right after, under the lock. */
  | { readonly outcome: "applied"; readonly tables: ReadOutput }
  /** A changed family no longer had its fingerprint; the tables as read under the lock, to plan again against. */
  | { readonly outcome: "conflict"; readonly tables: ReadOutput }
  /** Not run: the lock was not free in time, or a tool it needs is missing. */
  | { readonly outcome: "refused"; readonly error: FirewallError }
  /** A family's restore test (or for `nft`, `nft -c`, or `nft -f`, which is atomic) refused the input. */
  | { readonly outcome: "rejected"; readonly family: Family | "nft"; readonly code: number; readonly stderr: string }
  /**
   * Failed after the tests passed: a family's restore (`family`; for ipv6,
   * after ipv4's part was taken back), the rollback, or a read; `what` says
   * which, in words.
   */
  | { readonly outcome: "failed"; readonly family?: Family; readonly what: string; readonly code: number; readonly stderr: string }
  /** The command did not finish (killed, timed out, connection lost). */
  | { readonly outcome: "unfinished"; readonly what: string };

/**
 * The host protocol, typed: the two things the engine asks of a host's
 * firewall. The sh scripts of host-scripts.ts implement it over any
 * {@link Host}; the fake host of the tests implements it directly.
 */
export interface FirewallProtocol {
  /**
   * Reads both families' tables, their fingerprints and the listening
   * sockets, in one consistent read; with `afterLock`, once the host lock
   * is free (so as not to see another transaction halfway). Rejects when
   * the host cannot be read.
   */
  read(options?: { readonly afterLock?: boolean }): Promise<ReadOutput>;
  /** Applies one transaction under the host lock: checks the fingerprints, tests every input, restores, drops emptied tables, reads back. */
  apply(request: ApplyRequest): Promise<ApplyAnswer>;
}

/** A host that speaks the firewall protocol itself (a test fake) rather than through scripts. */
export interface ProtocolHost extends Host {
  readonly firewall: FirewallProtocol;
}

/** Whether a host speaks the firewall protocol itself. */
export function speaksProtocol(host: Host): host is ProtocolHost {
  return "firewall" in host;
}
