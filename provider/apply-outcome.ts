import { chainOf, OUR_JUMP } from "./chains";
import { DOCKER_JUMP } from "./docker/layout";
import { filterChains, replay, type FilterChains } from "./iptables/replay";
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
  const [was, is] = [filterChains(before), filterChains(now)];
  const view = footprint(operations, was, is);
  const found = view(is);
  if (found === view(replay(before, operations).chains)) return "applied";
  return found === view(was) ? "not applied" : "partly applied";
}

/** Renders the part of a filter table the operations touch, for comparison (see {@link familyOutcome}). */
function footprint(operations: readonly Operation[], was: FilterChains, is: FilterChains): (chains: FilterChains) => string {
  const touched = new Set(operations.flatMap(touchedLine));
  const listed = [...new Set([...touched].map(chainOf))].sort();
  const kept = new Map(listed.map((c) => [c, new Set([...touched, ...(was.get(c) ?? []).filter((line) => is.get(c)?.includes(line))])]));
  const made = operations.flatMap((op) => (op.kind === "create-chain" || op.kind === "delete-chain" ? [op.chain] : []));
  return (chains) => JSON.stringify([listed.map((c) => (chains.get(c) ?? []).filter((line) => kept.get(c)!.has(line))), made.map((c) => chains.has(c))]);
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
      return [op.jump === "docker" ? DOCKER_JUMP : OUR_JUMP];
    default:
      return [];
  }
}
