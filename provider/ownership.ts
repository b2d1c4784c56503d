/**
 * Which rules are ours. Every rule we write carries a comment tag
 *
 *     pdf:<project>/<stack>/<kind>/<name>:<priority>:<index>[ <user comment>]
 *
 * naming the owning resource, its priority and the rule's index within the
 * resource. A rule without such a tag is foreign: never moved, changed or
 * removed. Tags also give our rules their order at the top of DOCKER-USER.
 */

/** Characters allowed in each segment of an owner. */
export const OWNER_SEGMENT = /^[A-Za-z0-9._-]{1,64}$/;

/** The kinds of resource that own rules, as they appear in tags. */
export const OWNER_KINDS = ["rule", "port", "network", "default"] as const;

/** The parsed tag of one of our rules. */
export interface RuleTag {
  /** `<project>/<stack>/<kind>/<name>`. */
  readonly owner: string;
  /** The resource name (the owner's last segment), the second sort key. */
  readonly name: string;
  /** 0–999; lower sorts first. */
  readonly priority: number;
  /** The rule's position within its resource's rules. */
  readonly index: number;
  /** The user's own comment, if any. */
  readonly note?: string;
}

/** How every tag of ours begins. */
export const TAG_PREFIX = "pdf:";
const TAG = /^pdf:([A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\/[a-z]+\/([A-Za-z0-9._-]+)):(\d{1,3}):(\d{1,4})(?: (.*))?$/;

/** The comment text that marks a rule as ours. */
export function formatTag(tag: Omit<RuleTag, "name">): string {
  return `${TAG_PREFIX}${tag.owner}:${tag.priority}:${tag.index}${tag.note ? ` ${tag.note}` : ""}`;
}

/** Reads a rule comment; `undefined` when the rule is not ours. */
export function parseTag(comment: string | undefined): RuleTag | undefined {
  const m = comment === undefined ? null : TAG.exec(comment);
  if (!m) return undefined;
  return { owner: m[1], name: m[2], priority: Number(m[3]), index: Number(m[4]), ...(m[5] ? { note: m[5] } : {}) };
}

/** The `<project>/<stack>` an owner key belongs to: the resources one `pulumi up` manages together. */
export function stackOf(owner: string): string {
  return owner.split("/", 2).join("/");
}

/** Our rules' order: priority, then resource name, then owner, then index. */
export function compareTags(a: RuleTag, b: RuleTag): number {
  return a.priority - b.priority || compareStrings(a.name, b.name) || compareStrings(a.owner, b.owner) || a.index - b.index;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
