import { tagOfLine } from "./chains";
import type { Family } from "./family";
import { FLAG_TABLE } from "./iptables/flag-table";
import { parseRule, type MatchValue, type Rule } from "./iptables/rule";
import { tokenize } from "./iptables/tokens";
import { parseTag, type RuleTag } from "./ownership";
import type { Operation } from "./planner";

/**
 * Says in words what a plan for one resource would repair, one message per
 * problem (a rule moved back into place is one problem, not a delete and an
 * insert); `place` names where, when it is not iptables' filter table (e.g.
 * `nftables`).
 */
export function describePlan(family: Family, operations: readonly Operation[], place?: string): string[] {
  const moved = new Set(operations.flatMap((op) => (op.kind === "delete" && op.reason === "out of place" ? [op.text] : [])));
  // A rule of ours replaced by the declared one with the same tag was altered on the host: one message, field by field.
  const declared = new Map(operations.flatMap((op) => (op.kind === "insert" && !moved.has(op.text) ? [[tagKey(op.text), op.text] as const] : [])));
  const altered = new Map(operations.flatMap((op) => (op.kind === "delete" && op.reason === "not desired" && declared.has(tagKey(op.text)) ? [[op.text, declared.get(tagKey(op.text))!] as const] : [])));
  const replacements = new Set(altered.values());
  return operations
    .filter((op) => !(op.kind === "insert" && (moved.has(op.text) || replacements.has(op.text))))
    .map((op) => (op.kind === "delete" && altered.has(op.text) ? `${label(family, op, place)}: ${describeAlteration(op.text, altered.get(op.text)!)}` : describeDrift(family, op, place)));
}

/** What was altered in a rule of ours, field by field when both are iptables lines; else both texts. */
export function describeAlteration(live: string, declared: string): string {
  const [was, wanted] = [live, declared].map((text) => (text.startsWith("-A ") ? parseRule(tokenize(text)) : undefined));
  if (!was || !wanted) return `altered: ${live} (declared: ${declared})`;
  const shown = (m: MatchValue | undefined) => (m ? `${m.negated ? "! " : ""}${m.value}` : "absent");
  const fields = FLAG_TABLE.map((row) => row.field).filter((f, i, all) => all.indexOf(f) === i && f !== "comment");
  const changes = fields.filter((f) => shown(was.matches[f]) !== shown(wanted.matches[f])).map((f) => `${f} is ${shown(was.matches[f])}, declared ${shown(wanted.matches[f])}`);
  if (targetOf(was) !== targetOf(wanted)) changes.push(`action is ${targetOf(was)}, declared ${targetOf(wanted)}`);
  return `altered (${changes.join("; ") || "comment"}): ${live}`;
}

/** A rule's target with its options, as iptables-save prints them. */
function targetOf(rule: Rule): string {
  return [rule.target, ...rule.targetOptions].join(" ");
}

/** The owner and index of a rule of ours, from its text (an iptables line, or nft's `comment "pdf:…"`). */
function tagKey(text: string): string {
  const tag: RuleTag | undefined = text.startsWith("-A ") ? tagOfLine(text) : parseTag(/ comment "([^"]*)"$/.exec(text)?.[1]);
  return tag ? `${tag.owner}:${tag.index}` : text;
}

/**
 * Says in words what an operation would repair: planning a resource's
 * desired rules against the live chain and describing the plan is how drift
 * is detected, so `refresh` and `up` can never disagree about it. `place`
 * names where (default: the operation's table, when it is not filter).
 */
export function describeDrift(family: Family, op: Operation, place?: string): string {
  return `${label(family, op, place)}: ${whatToRepair(op)}`;
}

/** Where a message is about: the family, and the place when it is not iptables' filter table. */
function label(family: Family, op: Operation, place = op.table && `${op.table} table`): string {
  return place ? `${family} (${place})` : family;
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
          : op.below
            ? `out of place, below the foreign rule ${op.below}: ${op.text}`
            : `out of place (a later rule of ours is above it): ${op.text}`;
  }
}
