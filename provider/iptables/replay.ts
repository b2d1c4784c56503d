import { OUR_JUMP } from "../chains";
import { DOCKER_JUMP } from "../docker/layout";
import type { Operation } from "../planner";
import { deleteLine, insertLine, type TableLine } from "./restore-script";
import { findTable, ruleLine, type Ruleset } from "./ruleset";

/**
 * The rule lines (`-A CHAIN …`) of every chain of the filter and mangle
 * tables, keyed `<table> <chain>`; a chain that does not exist has no entry.
 */
export type TableChains = ReadonlyMap<string, readonly string[]>;

/** The built-in chains of each table our operations touch: a table the host lacks has them, empty (restoring into it creates them). */
const BUILTIN: Readonly<Record<"filter" | "mangle", readonly string[]>> = {
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
};

/** The key of a chain in {@link TableChains}. */
export function chainKey(table: "filter" | "mangle", chain: string): string {
  return `${table} ${chain}`;
}

/** What replaying a family's operations gives. */
export interface Replay {
  /** The filter and mangle tables' chains once every operation has run. */
  readonly chains: TableChains;
  /**
   * Restore lines that take every operation back, last operation first:
   * our own rules deleted by their text, deleted rules and jumps put back at
   * the position they had, a chain we created removed, a chain we removed
   * made again (with `-N`, which fails rather than flush a chain someone
   * made meanwhile). They name nothing we did not change, so rules others
   * added in between stay.
   */
  readonly undo: readonly TableLine[];
}

/** The filter and mangle tables' chains as saved. */
export function tableChains(ruleset: Ruleset): TableChains {
  return new Map(
    (["filter", "mangle"] as const).flatMap((name) => {
      const table = findTable(ruleset, name);
      if (!table) return BUILTIN[name].map((c) => [chainKey(name, c), []] as [string, string[]]);
      // One pass over the table's rules: a big host has thousands of chains.
      const byChain = new Map(table.chains.map((c) => [c.name, [] as string[]]));
      for (const rule of table.rules) byChain.get(rule.chain)?.push(ruleLine(rule));
      return [...byChain].map(([chain, lines]) => [chainKey(name, chain), lines] as [string, string[]]);
    }),
  );
}

/**
 * Runs a family's operations, in order, on the filter and mangle tables of
 * the ruleset they were planned against, and records how to take each back.
 * Pure; throws only when the operations do not fit the ruleset (they were
 * planned against another one).
 */
export function replay(ruleset: Ruleset, operations: readonly Operation[]): Replay {
  const chains = new Map([...tableChains(ruleset)].map(([key, lines]) => [key, [...lines]]));
  const steps = operations.map((op): TableLine[] => {
    const table: "filter" | "mangle" = op.table ?? "filter";
    const lines = (chain: string): string[] => {
      const found = chains.get(chainKey(table, chain));
      if (!found) throw new Error(`replaying a plan: chain ${chain} does not exist in ${table}`);
      return found;
    };
    /** Removes the first rule with `text` from its chain and returns its 1-based position. */
    const remove = (text: string): number => {
      const chain = lines(text.split(" ", 2)[1]);
      const at = chain.indexOf(text);
      if (at < 0) throw new Error(`replaying a plan: no rule ${text}`);
      chain.splice(at, 1);
      return at + 1;
    };
    const undo = (...lines: string[]): TableLine[] => lines.map((line) => ({ table, line }));
    switch (op.kind) {
      case "create-chain":
        chains.set(chainKey(table, op.chain), []);
        return undo(`-X ${op.chain}`);
      case "delete-chain":
        chains.delete(chainKey(table, op.chain));
        return undo(`-N ${op.chain}`);
      case "insert-jump":
        lines("FORWARD").unshift(OUR_JUMP);
        return undo(deleteLine(OUR_JUMP));
      case "raise-jump": {
        const position = remove(DOCKER_JUMP);
        lines("FORWARD").unshift(DOCKER_JUMP);
        return undo(deleteLine(DOCKER_JUMP), insertLine(DOCKER_JUMP, position));
      }
      case "delete-jump":
        return undo(insertLine(OUR_JUMP, remove(OUR_JUMP)));
      case "delete":
        return undo(insertLine(op.text, remove(op.text)));
      case "insert":
        lines(op.text.split(" ", 2)[1]).splice(op.position - 1, 0, op.text);
        return undo(deleteLine(op.text));
      case "delete-table":
        // Runs after every restore of the transaction, so never before a rollback.
        return [];
    }
  });
  return { chains, undo: steps.reverse().flat() };
}
