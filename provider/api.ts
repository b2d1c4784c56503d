import type { Connection } from "./connection";
import { canReach as canReachOn, type CanReachAnswer, type CanReachQuestion } from "./exposure/can-reach";
import { exposure as exposureOf, type ExposureEntry } from "./exposure/exposure";
import type { Family } from "./family";
import { placeChanges, planPlaced, type ChangeRequest, type ChangeResult, type Snapshot } from "./host-session";
import type { Backend } from "./iptables/backend";
import { restoreInput } from "./iptables/restore-script";
import type { Operation } from "./planner";
import { connectionSchema } from "./schema/connection-schema";
import { parseOrThrow } from "./schema/validate";
import { sessionFor } from "./sessions";

/**
 * The engine's small public API: what the CLI, the SDK's `getExposure` and
 * the demo call, rather than reaching into the engine's modules. Every
 * function takes the host as a {@link Target}; a host's reads and changes
 * share one connection and queue per process (sessions.ts).
 */

/** Where a firewall is. */
export interface Target {
  /**
   * The host, over SSH.
   * @default the machine this runs on
   */
  readonly connection?: Connection;
  /**
   * Which iptables to drive.
   * @default "auto"
   */
  readonly iptablesBackend?: Backend;
}

/** What applying changes would do, and why some cannot be made. */
export interface Plan {
  /** Per family, the operations in order (iptables, then our nftables tables). */
  readonly operations: Readonly<Record<Family, readonly Operation[]>>;
  /** Per family, the `iptables-restore --noflush` transaction; `""` for none. */
  readonly restore: Readonly<Record<Family, string>>;
  /** The `nft -f` script for our nftables tables; `""` for none. */
  readonly nft: string;
  /** Per owner, why its change cannot be made on this host. */
  readonly refused: Readonly<Record<string, string>>;
}

/** Reads the host's firewall: both families' tables, nftables' tables and the listening sockets, in one command. */
export function read(target: Target = {}): Promise<Snapshot> {
  return sessionOf(target).read();
}

/** The session of a target, its connection checked first (a bad one is a `ValidationError` naming each problem). */
function sessionOf(target: Target) {
  const connection = target.connection === undefined ? undefined : parseOrThrow(connectionSchema, target.connection);
  return sessionFor(connection, target.iptablesBackend);
}

/** Plans changes against the host as read now, changing nothing: what {@link apply} would do. */
export async function plan(target: Target, changes: readonly ChangeRequest[]): Promise<Plan> {
  const snapshot = await read(target);
  const session = sessionOf(target);
  const placed = placeChanges(snapshot, changes, session.host.name);
  const planned = planPlaced(snapshot, placed);
  return {
    operations: planned.operations,
    restore: { ipv4: restoreInput(planned.iptables.ipv4), ipv6: restoreInput(planned.iptables.ipv6) },
    nft: planned.nft.script,
    refused: Object.fromEntries([...placed.refused].map(([owner, error]) => [owner, error.message])),
  };
}

/** Makes the host hold each change's rules (queued changes go in one transaction); resolves once they read back as planned. */
export function apply(target: Target, changes: readonly ChangeRequest[]): Promise<ChangeResult[]> {
  const session = sessionOf(target);
  return Promise.all(changes.map((change) => session.apply(change)));
}

/** Who can open a connection to each port the host serves, by which path, and which rule decides: of a host, or of a snapshot already read. */
export async function exposure(from: Target | Snapshot): Promise<ExposureEntry[]> {
  return exposureOf(await snapshotOf(from));
}

/** Whether a client can open a connection to a port of the host, by which path, and which rule decides: of a host, or of a snapshot already read. */
export async function canReach(from: Target | Snapshot, question: CanReachQuestion): Promise<CanReachAnswer> {
  return canReachOn(await snapshotOf(from), question);
}

function snapshotOf(from: Target | Snapshot): Promise<Snapshot> | Snapshot {
  return "ipv4" in from ? from : read(from);
}
