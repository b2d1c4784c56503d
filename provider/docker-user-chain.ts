import { parseTag, type RuleTag } from "./ownership";
import { renderRule } from "./iptables/rule";
import { chainRules, findTable, hasChain, ruleLine, type Ruleset } from "./iptables/ruleset";
import type { Token } from "./iptables/tokens";

/** The chain Docker keeps for users' rules. */
export const DOCKER_USER = "DOCKER-USER";

/** The rule Docker (20.10 to 28.2) closes DOCKER-USER with. */
export const DOCKER_RETURN = `-A ${DOCKER_USER} -j RETURN`;

/** Docker's rule by which FORWARD hands every forwarded packet to DOCKER-USER. */
export const DOCKER_JUMP = `-A FORWARD -j ${DOCKER_USER}`;

/**
 * Our own jump, tagged so that we can tell it from Docker's: we add it only
 * where FORWARD does not jump to DOCKER-USER (ip6tables before Docker 23, a
 * host where Docker "failed open"), and remove it when no rule of ours is left.
 */
export const OUR_JUMP = renderRule({ chain: "FORWARD", matches: { comment: { value: "pdf:jump", negated: false } }, target: DOCKER_USER, targetOptions: [] });

/** A rule as it is on the host: its save text, and its tag when it is ours. */
export interface LiveRule {
  /** The `-A DOCKER-USER …` line as iptables-save prints it. */
  readonly text: string;
  /** Who owns it, when it carries our tag; foreign rules have none. */
  readonly tag?: RuleTag;
}

/** What the planner needs to know of one family's DOCKER-USER. */
export interface ChainState {
  /** Whether the filter table has the chain. */
  readonly exists: boolean;
  /** Whether FORWARD has Docker's jump to it (`-A FORWARD -j DOCKER-USER`). */
  readonly dockerJump: boolean;
  /** Whether FORWARD has our tagged jump to it. */
  readonly ourJump: boolean;
  /** How many other rules of the filter table jump or go to it. */
  readonly otherReferences: number;
  /** Its rules, in order. */
  readonly rules: readonly LiveRule[];
}

/** Reads DOCKER-USER, its rules' owners and the FORWARD jump out of a saved ruleset. */
export function dockerUserState(ruleset: Ruleset): ChainState {
  const filter = findTable(ruleset, "filter");
  const references = (filter?.rules ?? []).filter((r) => r.tokens.some((t, i) => (t.text === "-j" || t.text === "-g") && r.tokens[i + 1]?.text === DOCKER_USER)).map(ruleLine);
  return {
    exists: hasChain(filter, DOCKER_USER),
    dockerJump: references.includes(DOCKER_JUMP),
    ourJump: references.includes(OUR_JUMP),
    otherReferences: references.filter((r) => r !== DOCKER_JUMP && r !== OUR_JUMP).length,
    rules: chainRules(filter, DOCKER_USER).map((r) => {
      const tag = parseTag(commentOf(r.tokens));
      return tag ? { text: ruleLine(r), tag } : { text: ruleLine(r) };
    }),
  };
}

/** The `--comment` argument of a rule, if it has one. */
export function commentOf(tokens: readonly Token[]): string | undefined {
  const i = tokens.findIndex((t) => t.text === "--comment" && !t.quoted);
  return i >= 0 ? tokens[i + 1]?.text : undefined;
}
