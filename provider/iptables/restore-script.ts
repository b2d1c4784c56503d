import { OUR_JUMP } from "../chains";
import { DOCKER_JUMP } from "../docker/layout";
import type { Operation } from "../planner";

/**
 * Writes a family's operations as `iptables-restore --noflush` input: one
 * `*filter … COMMIT` transaction. A chain line is written only to create a
 * chain where it is missing (a chain line flushes an existing chain), so the
 * transaction never declares a chain it does not create. `delete-table` is
 * not restore input (the apply script runs it afterwards).
 * Returns `""` when there is nothing to restore.
 */
export function restoreInput(operations: readonly Operation[]): string {
  const lines = operations.flatMap(restoreLines);
  return lines.length === 0 ? "" : ["*filter", ...lines, "COMMIT"].join("\n") + "\n";
}

function restoreLines(op: Operation): string[] {
  const jump = (line: string) => line.slice("-A FORWARD ".length);
  switch (op.kind) {
    case "create-chain":
      return [`:${op.chain} - [0:0]`];
    case "insert-jump":
      return [`-I FORWARD 1 ${jump(OUR_JUMP)}`];
    case "raise-jump": {
      const line = jump(op.jump === "docker" ? DOCKER_JUMP : OUR_JUMP);
      return [`-D FORWARD ${line}`, `-I FORWARD 1 ${line}`];
    }
    case "delete-jump":
      return [`-D FORWARD ${jump(OUR_JUMP)}`];
    case "delete-chain":
      return [`-X ${op.chain}`];
    case "delete-table":
      return [];
    case "delete":
      return [`-D ${op.text.slice("-A ".length)}`];
    case "insert": {
      const [chain, ...rest] = op.text.slice("-A ".length).split(" ");
      return [`-I ${chain} ${op.position} ${rest.join(" ")}`];
    }
  }
}
