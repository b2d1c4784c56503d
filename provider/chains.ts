import { DOCKER_JUMP, DOCKER_USER, dockerLayout, type DockerLayout } from "./docker/layout";
import { renderRule } from "./iptables/rule";
import { chainRules, findTable, hasChain, ruleLine, type Ruleset } from "./iptables/ruleset";
import { tokenize, type Token } from "./iptables/tokens";
import { parseTag, TAG_PREFIX, type RuleTag } from "./ownership";

/**
 * Where our rules live, each place holding a block of our rules at its top:
 *
 * - `DOCKER-USER`: forwarded traffic, before Docker's own rules. FORWARD
 *   jumps to it: Docker's jump (which Docker keeps at the top), or our
 *   tagged one in a family Docker does not manage. Where Docker manages a
 *   family without jumping to DOCKER-USER (ip6tables before Docker 23, a
 *   host where Docker "failed open"), Docker re-inserts its FORWARD rules
 *   above any other jump at every start: there our DOCKER-USER lives in the
 *   mangle table instead, whose FORWARD Docker never touches (see
 *   {@link userTable}).
 * - `INPUT`: traffic delivered to the host itself, which is how docker-proxy
 *   serves a published port (`[::]:PORT` for an IPv4-only bridge, every port
 *   when a family's iptables is off). Docker never writes or reorders INPUT.
 */
export const GUARDED_CHAINS = [DOCKER_USER, "INPUT"] as const;

/** A chain our rules live in. */
export type GuardedChain = (typeof GUARDED_CHAINS)[number];

/** A table our rules may live in. */
export type GuardedTable = "filter" | "mangle";

/** One place of our rules: a chain in a table. */
export interface GuardedPlace {
  readonly table: GuardedTable;
  readonly chain: GuardedChain;
}

/** Every place our rules may be, in the order `ruleText` shows them. */
export const GUARDED_PLACES: readonly GuardedPlace[] = [
  { table: "filter", chain: DOCKER_USER },
  { table: "mangle", chain: DOCKER_USER },
  { table: "filter", chain: "INPUT" },
];

/**
 * The table DOCKER-USER lives in for a family: `filter`, unless Docker
 * manages the family without jumping to DOCKER-USER itself, where only the
 * mangle table's FORWARD keeps our jump above Docker's rules across a
 * dockerd restart. There ACCEPT ends only our chain (Docker's filter rules
 * still decide) and REJECT is not available (iptables allows it in filter
 * only); DROP and RETURN act as in filter.
 */
export function userTable(layout: DockerLayout): GuardedTable {
  return layout.managed && !layout.dockerJump ? "mangle" : "filter";
}

/**
 * Our own jump, tagged so that we can tell it from Docker's: we add it only
 * where FORWARD does not jump to DOCKER-USER (in the mangle table, or in a
 * family Docker does not manage), and remove it when no rule of ours is left.
 */
export const OUR_JUMP = renderRule({ chain: "FORWARD", matches: { comment: { value: "pdf:jump", negated: false } }, target: DOCKER_USER, targetOptions: [] });

/** A rule as it is on the host: its save text, and its tag when it is ours. */
export interface LiveRule {
  /** The `-A CHAIN …` line as iptables-save prints it. */
  readonly text: string;
  /** Who owns it, when it carries our tag; foreign rules have none. */
  readonly tag?: RuleTag;
}

/** What the planner needs to know of one guarded place in one family. */
export interface ChainState {
  readonly chain: GuardedChain;
  /** Whether the chain exists (INPUT always does: restoring into the table creates it). */
  readonly exists: boolean;
  /** Whether the chain is reached only through a jump from FORWARD (DOCKER-USER). */
  readonly needsJump: boolean;
  /** Whether FORWARD has Docker's jump to it (`-A FORWARD -j DOCKER-USER`; never in mangle). */
  readonly dockerJump: boolean;
  /** Whether FORWARD has our tagged jump to it. */
  readonly ourJump: boolean;
  /** Whether Docker's jump comes before every other rule of Docker's in FORWARD; true when there is no such jump. */
  readonly jumpFirst: boolean;
  /** How many other rules of the table jump or go to it. */
  readonly otherReferences: number;
  /** Its rules, in order. */
  readonly rules: readonly LiveRule[];
}

/** Reads a guarded place, its rules' owners and (for DOCKER-USER) FORWARD's jump out of a saved ruleset. */
export function chainState(ruleset: Ruleset, chain: GuardedChain, layout: DockerLayout = dockerLayout(ruleset), tableName: GuardedTable = "filter"): ChainState {
  const table = findTable(ruleset, tableName);
  // Only a rule whose line holds our tag's prefix can be ours: the others need not be split into words.
  const rules = chainRules(table, chain).map((r) => {
    const text = ruleLine(r);
    const tag = text.includes(TAG_PREFIX) ? parseTag(commentOf(r.tokens)) : undefined;
    return tag ? { text, tag } : { text };
  });
  if (chain === "INPUT") return { chain, exists: true, needsJump: false, dockerJump: false, ourJump: false, jumpFirst: true, otherReferences: 0, rules };
  const forward = chainRules(table, "FORWARD").map(ruleLine);
  const references = (table?.rules ?? []).filter((r) => ruleLine(r).includes(chain) && r.tokens.some((t, i) => (t.text === "-j" || t.text === "-g") && r.tokens[i + 1]?.text === chain)).map(ruleLine);
  const dockerJump = tableName === "filter" && layout.dockerJump;
  const jumpAt = forward.indexOf(DOCKER_JUMP);
  return {
    chain,
    exists: hasChain(table, chain),
    needsJump: true,
    dockerJump,
    ourJump: forward.includes(OUR_JUMP),
    jumpFirst: !dockerJump || layout.firstDockerForwardRule === undefined || jumpAt < layout.firstDockerForwardRule,
    otherReferences: references.filter((r) => r !== DOCKER_JUMP && r !== OUR_JUMP).length,
    rules,
  };
}

/** The chain a rule line (`-A CHAIN …`) is in. */
export function chainOf(text: string): string {
  return text.split(" ", 2)[1];
}

/** The `--comment` argument of a rule, if it has one. */
/** The tag of a saved rule line (`-A CHAIN …`); `undefined` when it is not ours. */
export function tagOfLine(text: string): RuleTag | undefined {
  return text.includes(TAG_PREFIX) ? parseTag(commentOf(tokenize(text))) : undefined;
}

export function commentOf(tokens: readonly Token[]): string | undefined {
  const i = tokens.findIndex((t) => t.text === "--comment" && !t.quoted);
  return i >= 0 ? tokens[i + 1]?.text : undefined;
}
