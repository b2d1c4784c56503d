import { DOCKER_USER, OUR_JUMP } from "../docker-user-chain";
import type { Operation } from "../planner";

/**
 * Writes a family's operations as `iptables-restore --noflush` input: one
 * `*filter … COMMIT` transaction. The chain line is written only to create
 * DOCKER-USER where it is missing (a chain line flushes an existing chain),
 * so the transaction never declares a chain it does not create.
 * Returns `""` when there is nothing to do.
 */
export function restoreInput(operations: readonly Operation[]): string {
  if (operations.length === 0) return "";
  const lines = ["*filter"];
  for (const op of operations) lines.push(restoreLine(op));
  lines.push("COMMIT");
  return lines.join("\n") + "\n";
}

function restoreLine(op: Operation): string {
  switch (op.kind) {
    case "create-chain":
      return `:${DOCKER_USER} - [0:0]`;
    case "insert-jump":
      return `-I FORWARD 1 ${OUR_JUMP.slice("-A FORWARD ".length)}`;
    case "delete-jump":
      return `-D FORWARD ${OUR_JUMP.slice("-A FORWARD ".length)}`;
    case "delete-chain":
      return `-X ${DOCKER_USER}`;
    case "delete":
      return `-D ${DOCKER_USER} ${op.text.slice(`-A ${DOCKER_USER} `.length)}`;
    case "insert":
      return `-I ${DOCKER_USER} ${op.position} ${op.text.slice(`-A ${DOCKER_USER} `.length)}`;
  }
}
