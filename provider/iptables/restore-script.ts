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
  return filterTransaction(operations.flatMap(restoreLines));
}

/** Wraps restore lines in one `*filter … COMMIT` transaction; `""` for no lines. */
export function filterTransaction(lines: readonly string[]): string {
  return lines.length === 0 ? "" : ["*filter", ...lines, "COMMIT"].join("\n") + "\n";
}

/** The restore line that inserts a saved rule (`-A CHAIN …`) at a 1-based position of its chain. */
export function insertLine(text: string, position: number): string {
  const [chain, ...rest] = text.slice("-A ".length).split(" ");
  return `-I ${chain} ${position} ${rest.join(" ")}`;
}

/** The restore line that deletes a saved rule (`-A CHAIN …`) by its text: the first rule of the chain that matches it. */
export function deleteLine(text: string): string {
  return `-D ${text.slice("-A ".length)}`;
}

function restoreLines(op: Operation): string[] {
  switch (op.kind) {
    case "create-chain":
      return [`:${op.chain} - [0:0]`];
    case "insert-jump":
      return [insertLine(OUR_JUMP, 1)];
    case "raise-jump": {
      const line = op.jump === "docker" ? DOCKER_JUMP : OUR_JUMP;
      return [deleteLine(line), insertLine(line, 1)];
    }
    case "delete-jump":
      return [deleteLine(OUR_JUMP)];
    case "delete-chain":
      return [`-X ${op.chain}`];
    case "delete-table":
      return [];
    case "delete":
      return [deleteLine(op.text)];
    case "insert":
      return [insertLine(op.text, op.position)];
  }
}
