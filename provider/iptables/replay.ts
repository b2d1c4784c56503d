import { OUR_JUMP } from "../chains";
import { DOCKER_JUMP } from "../docker/layout";
import type { Operation } from "../planner";
import { deleteLine, insertLine } from "./restore-script";
import { chainRules, findTable, ruleLine, type Ruleset } from "./ruleset";

/** The rule lines (`-A CHAIN …`) of every chain of a filter table, by chain; a chain that does not exist has no entry. */
export type FilterChains = ReadonlyMap<string, readonly string[]>;

/** What replaying a family's operations gives. */
export interface Replay {
  /** The filter table's chains once every operation has run. */
  readonly chains: FilterChains;
  /**
   * Restore lines that take every operation back, last operation first:
   * our own rules deleted by their text, deleted rules and jumps put back at
   * the position they had, a chain we created removed, a chain we removed
   * made again (with `-N`, which fails rather than flush a chain someone
   * made meanwhile). They name nothing we did not change, so rules others
   * added in between stay.
   */
  readonly undo: readonly string[];
}

/** A filter table's chains as saved; a ruleset without one has the built-in chains, empty (restoring into it creates them). */
export function filterChains(ruleset: Ruleset): FilterChains {
  const filter = findTable(ruleset, "filter");
  if (!filter) return new Map(["INPUT", "FORWARD", "OUTPUT"].map((c) => [c, []]));
  return new Map(filter.chains.map((c) => [c.name, chainRules(filter, c.name).map(ruleLine)]));
}

/**
 * Runs a family's operations, in order, on the filter table of the ruleset
 * they were planned against, and records how to take each back. Pure; throws
 * only when the operations do not fit the ruleset (they were planned against
 * another one).
 */
export function replay(ruleset: Ruleset, operations: readonly Operation[]): Replay {
  const chains = new Map([...filterChains(ruleset)].map(([name, lines]) => [name, [...lines]]));
  const lines = (chain: string): string[] => {
    const found = chains.get(chain);
    if (!found) throw new Error(`replaying a plan: chain ${chain} does not exist`);
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
  const steps = operations.map((op): string[] => {
    switch (op.kind) {
      case "create-chain":
        chains.set(op.chain, []);
        return [`-X ${op.chain}`];
      case "delete-chain":
        chains.delete(op.chain);
        return [`-N ${op.chain}`];
      case "insert-jump":
        lines("FORWARD").unshift(OUR_JUMP);
        return [deleteLine(OUR_JUMP)];
      case "raise-jump": {
        const jump = op.jump === "docker" ? DOCKER_JUMP : OUR_JUMP;
        const position = remove(jump);
        lines("FORWARD").unshift(jump);
        return [deleteLine(jump), insertLine(jump, position)];
      }
      case "delete-jump":
        return [insertLine(OUR_JUMP, remove(OUR_JUMP))];
      case "delete":
        return [insertLine(op.text, remove(op.text))];
      case "insert":
        lines(op.text.split(" ", 2)[1]).splice(op.position - 1, 0, op.text);
        return [deleteLine(op.text)];
      case "delete-table":
        // Runs after every restore of the transaction, so never before a rollback.
        return [];
    }
  });
  return { chains, undo: steps.reverse().flat() };
}
