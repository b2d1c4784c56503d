import { chainOf, OUR_JUMP } from "./chains";
import { DOCKER_JUMP } from "./docker/layout";
import { chainKey, replay, tableChains, type TableChains } from "./iptables/replay";
import type { Ruleset } from "./iptables/ruleset";
import type { Operation } from "./planner";

/**
 * What a family holds after a transaction that failed, told by reading the
 * host back: all of its operations, none of them, or some (a restore is
 * atomic per family, so "partly" means something else changed too: a
 * rollback that half worked, or another writer in between).
 */
export type FamilyOutcome = "applied" | "not applied" | "partly applied";

/**
 * Compares what a family holds now with what it held when planned and what
 * the operations would have made of it, looking only at what the operations
 * touch: the chains they change, in which the rules they insert or delete
 * and the jumps they move are placed among the rules that were there when
 * planned and still are; and the chains they create or remove. Rules others
 * add or remove meanwhile do not change the answer.
 */
export function familyOutcome(before: Ruleset, operations: readonly Operation[], now: Ruleset): FamilyOutcome {
  const [was, is] = [tableChains(before), tableChains(now)];
  const view = footprint(operations, was, is);
  const found = view(is);
  if (found === view(replay(before, operations).chains)) return "applied";
  return found === view(was) ? "not applied" : "partly applied";
}

/** Renders the part of the filter and mangle tables the operations touch, for comparison (see {@link familyOutcome}). */
function footprint(operations: readonly Operation[], was: TableChains, is: TableChains): (chains: TableChains) => string {
  const touchedBy = (op: Operation) => touchedLine(op).map((line) => ({ key: chainKey(op.table ?? "filter", chainOf(line)), line }));
  const touched = operations.flatMap(touchedBy);
  const listed = [...new Set(touched.map((t) => t.key))].sort();
  const kept = new Map(listed.map((k) => [k, new Set([...touched.filter((t) => t.key === k).map((t) => t.line), ...(was.get(k) ?? []).filter((line) => is.get(k)?.includes(line))])]));
  const made = operations.flatMap((op) => (op.kind === "create-chain" || op.kind === "delete-chain" ? [chainKey(op.table ?? "filter", op.chain)] : []));
  return (chains) => JSON.stringify([listed.map((k) => (chains.get(k) ?? []).filter((line) => kept.get(k)!.has(line))), made.map((k) => chains.has(k))]);
}

/** The rule line an operation inserts, deletes or moves. */
function touchedLine(op: Operation): string[] {
  switch (op.kind) {
    case "insert":
    case "delete":
      return [op.text];
    case "insert-jump":
    case "delete-jump":
      return [OUR_JUMP];
    case "raise-jump":
      return [DOCKER_JUMP];
    default:
      return [];
  }
}
