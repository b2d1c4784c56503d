import type { Family } from "./family";
import type { Operation } from "./planner";

/**
 * Says in words what a plan for one resource would repair, one message per
 * problem (a rule moved back into place is one problem, not a delete and an
 * insert); `place` names where, when it is not iptables' filter table (e.g.
 * `nftables`).
 */
export function describePlan(family: Family, operations: readonly Operation[], place?: string): string[] {
  const moved = new Set(operations.flatMap((op) => (op.kind === "delete" && op.reason === "out of place" ? [op.text] : [])));
  return operations.filter((op) => !(op.kind === "insert" && moved.has(op.text))).map((op) => describeDrift(family, op, place));
}

/**
 * Says in words what an operation would repair: planning a resource's
 * desired rules against the live chain and describing the plan is how drift
 * is detected, so `refresh` and `up` can never disagree about it. `place`
 * names where (default: the operation's table, when it is not filter).
 */
export function describeDrift(family: Family, op: Operation, place = op.table && `${op.table} table`): string {
  return `${place ? `${family} (${place})` : family}: ${whatToRepair(op)}`;
}

function whatToRepair(op: Operation): string {
  switch (op.kind) {
    case "create-chain":
      return `the ${op.chain} chain does not exist`;
    case "insert-jump":
      return "FORWARD does not jump to DOCKER-USER, so its rules have no effect";
    case "raise-jump":
      return "FORWARD jumps to DOCKER-USER after Docker's rules: every rule in it is bypassed";
    case "delete-table":
      return "the table holds nothing of anybody's";
    case "delete-jump":
      return "our FORWARD jump to DOCKER-USER is no longer needed (Docker jumps there itself, or none of our rules is left)";
    case "delete-chain":
      return `the ${op.chain} chain we created is empty and unused`;
    case "insert":
      return `missing: ${op.text}`;
    case "delete":
      return op.reason === "not desired"
        ? `differs from the declared rule: ${op.text}`
        : op.reason === "duplicate"
          ? `duplicate: ${op.text}`
          : `out of place (a foreign or later rule is above it): ${op.text}`;
  }
}
