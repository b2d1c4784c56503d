import type { Operation } from "../planner";
import { replay } from "./replay";
import { transaction } from "./restore-script";
import type { Ruleset } from "./ruleset";

/**
 * The `iptables-restore --noflush` input that takes a family's applied
 * operations back when a later family of the same transaction fails: the
 * inverse of each operation, last first (see {@link replay}), never a
 * restore of a whole table, so rules other writers added in between stay.
 * `ruleset` is what the operations were planned against. Returns `""` when
 * there is nothing to take back.
 */
export function rollbackInput(ruleset: Ruleset, operations: readonly Operation[]): string {
  return transaction(replay(ruleset, operations).undo);
}
