import { OUR_JUMP } from "../chains";
import { DOCKER_JUMP } from "../docker/layout";
import type { Operation } from "../planner";

/** The tables our operations touch, in the order their blocks are written. */
const TABLES = ["filter", "mangle"] as const;

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
  return transaction(operations.flatMap((op) => restoreLines(op).map((line) => ({ table: op.table ?? "filter", line }))));
}

/** One restore line, with the table it belongs to. */
export interface TableLine {
  readonly table: "filter" | "mangle";
  readonly line: string;
}

/** Wraps restore lines in one `*TABLE … COMMIT` block per table, keeping their order within each table; `""` for no lines. */
export function transaction(lines: readonly TableLine[]): string {
  const blocks = TABLES.flatMap((table) => {
    const mine = lines.filter((l) => l.table === table).map((l) => l.line);
    return mine.length === 0 ? [] : [`*${table}`, ...mine, "COMMIT"];
  });
  return blocks.length === 0 ? "" : blocks.join("\n") + "\n";
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
    case "raise-jump":
      return [deleteLine(DOCKER_JUMP), insertLine(DOCKER_JUMP, 1)];
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
