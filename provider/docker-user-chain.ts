import { parseTag, type RuleTag } from "./ownership";
import { chainRules, findTable, hasChain, ruleLine, type Ruleset } from "./iptables/ruleset";
import type { Token } from "./iptables/tokens";

/** The chain Docker keeps for users' rules. */
export const DOCKER_USER = "DOCKER-USER";

/** The rule by which FORWARD hands every forwarded packet to DOCKER-USER. */
export const FORWARD_JUMP = `-A FORWARD -j ${DOCKER_USER}`;

/** A rule as it is on the host: its save text, and its tag when it is ours. */
export interface LiveRule {
  /** The `-A DOCKER-USER …` line as iptables-save prints it. */
  readonly text: string;
  readonly tag?: RuleTag;
}

/** What the planner needs to know of one family's DOCKER-USER. */
export interface ChainState {
  /** Whether the filter table has the chain. */
  readonly exists: boolean;
  /** Whether FORWARD jumps to it (`-A FORWARD -j DOCKER-USER`). */
  readonly jumped: boolean;
  /** Its rules, in order. */
  readonly rules: readonly LiveRule[];
}

/** Reads DOCKER-USER, its rules' owners and the FORWARD jump out of a saved ruleset. */
export function dockerUserState(ruleset: Ruleset): ChainState {
  const filter = findTable(ruleset, "filter");
  return {
    exists: hasChain(filter, DOCKER_USER),
    jumped: chainRules(filter, "FORWARD").some((r) => ruleLine(r) === FORWARD_JUMP),
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
