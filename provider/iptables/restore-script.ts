import { OUR_JUMP } from "../chains";
import { DOCKER_JUMP } from "../docker/layout";
import type { Operation } from "../planner";

/**
 * Writes a family's operations as `iptables-restore --noflush` input: one
 * `*TABLE … COMMIT` block per table they touch (filter, then mangle), all
 * of it one transaction. A chain line is written only to create a chain
 * where it is missing (a chain line flushes an existing chain), so the
 * transaction never declares a chain it does not create. `delete-table` is
 * not restore input (the apply script runs it afterwards).
 * Returns `""` when there is nothing to restore.
 */
export function restoreInput(operations: readonly Operation[]): string {
  const blocks = (["filter", "mangle"] as const).flatMap((table) => {
    const lines = operations.filter((op) => (op.table ?? "filter") === table).flatMap(restoreLines);
    return lines.length === 0 ? [] : [`*${table}`, ...lines, "COMMIT"];
  });
  return blocks.length === 0 ? "" : blocks.join("\n") + "\n";
}

function restoreLines(op: Operation): string[] {
  const jump = (line: string) => line.slice("-A FORWARD ".length);
  switch (op.kind) {
    case "create-chain":
      return [`:${op.chain} - [0:0]`];
    case "insert-jump":
      return [`-I FORWARD 1 ${jump(OUR_JUMP)}`];
    case "raise-jump":
      return [`-D FORWARD ${jump(DOCKER_JUMP)}`, `-I FORWARD 1 ${jump(DOCKER_JUMP)}`];
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
