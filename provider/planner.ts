import type { ChainState, LiveRule } from "./chains";
import { DOCKER_RETURN } from "./docker/layout";
import { compareTags, type RuleTag } from "./ownership";

/** A rule we want in a guarded chain: its tag and the exact line iptables-save will print. */
export interface OwnedRule extends LiveRule {
  readonly tag: RuleTag;
}

/** One resource's desired rules in one chain of one family; no rules means "remove all of this owner's rules" there. */
export interface OwnerChange {
  /** The owner key (`<project>/<stack>/<kind>/<name>`). */
  readonly owner: string;
  /** Every rule it wants in this family. */
  readonly rules: readonly OwnedRule[];
}

/** Why a rule is deleted. */
export type DeleteReason = "not desired" | "duplicate" | "out of place";

/**
 * One step of a plan, in the order iptables-restore must run them, in the
 * filter table unless `table` says `mangle`. Jumps are FORWARD's jump to
 * DOCKER-USER; `raise-jump` moves Docker's jump back above Docker's other
 * rules. `delete-table` removes a table that held nothing but our rules (it
 * runs after the restore, where the host can; see host-scripts.ts).
 */
export type Operation = (
  | { readonly kind: "create-chain"; readonly chain: string }
  | { readonly kind: "insert-jump" }
  | { readonly kind: "raise-jump" }
  | { readonly kind: "delete-jump" }
  | { readonly kind: "delete-chain"; readonly chain: string }
  | { readonly kind: "delete-table" }
  | { readonly kind: "delete"; readonly text: string; readonly reason: DeleteReason; readonly below?: string }
  | { readonly kind: "insert"; readonly position: number; readonly text: string }
) & { readonly table?: "mangle" };

/** The operations for one family and the chain they leave behind. */
export interface ChainPlan {
  readonly operations: readonly Operation[];
  readonly result: readonly LiveRule[];
}

/**
 * Plans the smallest set of operations that turns a live guarded chain into
 * one holding exactly the desired rules of the changed owners, each once, at
 * its place: our rules form a block at the top ordered by their tags; a new
 * rule goes one past the last owned rule that sorts before it, and a rule of
 * a changed owner below a foreign rule (with only changed owners' rules
 * between) is moved above it. For
 * DOCKER-USER: where FORWARD does not jump to the chain, our tagged jump is
 * added; where Docker's jump sits below Docker's other rules (which would
 * bypass every rule in the chain) it is moved back to the top; when no rule of ours and
 * no foreign rule is left, our jump is removed again, and the chain too if
 * nothing else uses it. Rules of other owners and foreign rules are never
 * touched.
 *
 * Deletes name the rule (iptables deletes the first rule that matches it), so
 * a rule another tool slips in meanwhile can never be deleted in its place;
 * inserts name a 1-based position, valid at the moment each runs. Pure: no I/O.
 */
export function planChain(state: ChainState, changes: readonly OwnerChange[]): ChainPlan {
  const desired = new Map(changes.map((c) => [c.owner, new Set(c.rules.map((r) => r.text))]));
  const isChanging = (r: LiveRule) => r.tag !== undefined && desired.has(r.tag.owner);
  const chain = [...state.rules];
  const operations: Operation[] = [];
  // Called only on the first rule with its text, which is the one iptables deletes.
  const remove = (i: number, reason: DeleteReason, below?: string) => {
    operations.push({ kind: "delete", text: chain[i].text, reason, ...(below === undefined ? {} : { below }) });
    chain.splice(i, 1);
  };
  // The foreign rule above a rule of a changing owner with nothing between but rules of changing owners
  // (which move too): our block belongs above it, unless a rule of an owner that is not changing pins it there.
  const foreignAbove = (i: number): string | undefined => {
    for (let j = i - 1; j >= 0; j--) {
      if (chain[j].tag === undefined) return chain[j].text;
      if (!isChanging(chain[j])) return undefined;
    }
    return undefined;
  };

  // How many times each text occurs from the current rule on: a later duplicate exists when the count is above 1.
  const fromHere = countTexts(chain);
  for (let i = 0; i < chain.length; ) {
    const rule = chain[i];
    const laterDuplicate = fromHere.get(rule.text)! > 1;
    fromHere.set(rule.text, fromHere.get(rule.text)! - 1);
    if (!isChanging(rule)) i += 1;
    else if (!desired.get(rule.tag!.owner)!.has(rule.text)) remove(i, "not desired");
    else if (laterDuplicate) remove(i, "duplicate");
    else i += 1;
  }
  for (let i = 0; i < chain.length; ) {
    const below = isChanging(chain[i]) ? foreignAbove(i) : undefined;
    if (isChanging(chain[i]) && (placeFor(chain, chain[i].tag!, i) !== i || below !== undefined)) remove(i, "out of place", below);
    else i += 1;
  }

  const wanted = changes.flatMap((c) => c.rules).sort((a, b) => compareTags(a.tag, b.tag));
  const inserts: Operation[] = [];
  const present = new Set(chain.map((r) => r.text));
  for (const rule of wanted) {
    if (present.has(rule.text)) continue;
    present.add(rule.text);
    const position = placeFor(chain, rule.tag);
    chain.splice(position, 0, { text: rule.text, tag: rule.tag });
    inserts.push({ kind: "insert", position: position + 1, text: rule.text });
  }

  const prelude: Operation[] = [];
  if (wanted.length > 0 && !state.exists) prelude.push({ kind: "create-chain", chain: state.chain });
  if (state.needsJump && wanted.length > 0 && !state.dockerJump && !state.ourJump) prelude.push({ kind: "insert-jump" });
  const ours = chain.some((r) => r.tag !== undefined);
  if (changes.length > 0 && state.needsJump && ours && !state.jumpFirst) prelude.push({ kind: "raise-jump" });
  // What we added for our rules goes with the last of them; Docker's chain and jump never do.
  // Our jump goes once Docker jumps to the chain itself (packets would pass it twice), or once
  // nothing is left for it to serve: no rule of ours, and no foreign rule but Docker's closing RETURN.
  const cleanup: Operation[] = [];
  const nothingToServe = chain.every((r) => r.text === DOCKER_RETURN);
  if (changes.length > 0 && state.ourJump && (nothingToServe || state.dockerJump)) cleanup.push({ kind: "delete-jump" });
  if (changes.length > 0 && state.ourJump && chain.length === 0 && !state.dockerJump && state.otherReferences === 0) {
    cleanup.push({ kind: "delete-chain", chain: state.chain });
  }
  return { operations: [...prelude, ...operations, ...inserts, ...cleanup], result: chain };
}

/** How many times each rule text occurs in a chain (counting texts keeps planning a batch linear, not quadratic). */
function countTexts(chain: readonly LiveRule[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of chain) counts.set(r.text, (counts.get(r.text) ?? 0) + 1);
  return counts;
}

/**
 * The index a rule with `tag` belongs at: one past the last owned rule that
 * sorts before it, or the top. `skip` is the rule's own index when it is
 * already in the chain.
 */
function placeFor(chain: readonly LiveRule[], tag: RuleTag, skip = -1): number {
  let place = 0;
  chain.forEach((r, i) => {
    if (i !== skip && r.tag && compareTags(r.tag, tag) < 0) place = i < skip || skip < 0 ? i + 1 : i;
  });
  return place;
}
