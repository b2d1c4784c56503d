import type { Props } from "../provider/resources/rule-resource";
import { dockerUserRules, type CheckedDockerUserRuleArgs } from "../provider/resources/docker-user-rule";
import type { OwnedRule } from "../provider/planner";

/** The Pulumi project every benchmark rule's owner names. */
export const BENCH_PROJECT = "bench";
/** The Pulumi stack every benchmark rule's owner names. */
export const BENCH_STACK = "s";

/** The resource name of the `i`-th benchmark rule (1-based): `r001`, `r042`, `r500`. */
export function ruleName(i: number): string {
  return `r${String(i).padStart(3, "0")}`;
}

/** The inputs of the `i`-th benchmark rule: drop connections to published port 8000 + i, IPv4 only. */
export function ruleArgs(i: number): CheckedDockerUserRuleArgs & Props {
  return {
    __owner: `${BENCH_PROJECT}/${BENCH_STACK}/rule/${ruleName(i)}`,
    action: "DROP",
    family: "ipv4",
    protocol: "tcp",
    originalDestinationPort: 8000 + i,
  };
}

/** Rules 1…count as the engine writes them, each with its owner. */
export function ownedRules(count: number): { owner: string; rule: OwnedRule }[] {
  return Array.from({ length: count }, (_, k) => {
    const args = ruleArgs(k + 1);
    return { owner: args.__owner, rule: dockerUserRules(args).ipv4[0] };
  });
}
