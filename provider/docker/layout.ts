import { parseRule } from "../iptables/rule";
import { chainRules, findTable, hasChain, ruleLine, type Ruleset, type SavedRule } from "../iptables/ruleset";

/**
 * What Docker (20.10 to 29, iptables backend) does to one family's
 * firewall, read from the live ruleset rather than from a version string.
 * The only place that knows Docker's chains, jumps and raw rules:
 *
 * - 20.10–26: FORWARD → DOCKER-USER, DOCKER-ISOLATION-STAGE-1, then per
 *   bridge `-o BR … -j DOCKER`, `-i BR … -j ACCEPT`; DOCKER-USER ends in
 *   `-j RETURN`; 20.10 makes no DOCKER-USER for ip6tables at all.
 * - 28: FORWARD → DOCKER-USER, DOCKER-FORWARD; DOCKER-USER is empty
 *   (28.2.2+); raw PREROUTING drops direct access to each container
 *   (`-d C ! -i BR -j DROP`).
 * - 29 (iptables backend): as 28, without the isolation chains.
 */

/** The chain Docker keeps for users' rules. */
export const DOCKER_USER = "DOCKER-USER";

/** The rule Docker (20.10 to 28.2) closes DOCKER-USER with. */
export const DOCKER_RETURN = `-A ${DOCKER_USER} -j RETURN`;

/** Docker's rule by which FORWARD hands every forwarded packet to DOCKER-USER. */
export const DOCKER_JUMP = `-A FORWARD -j ${DOCKER_USER}`;

/** One family's Docker layout, as the live ruleset shows it. */
export interface DockerLayout {
  /** Whether Docker writes rules in this family (its `DOCKER` chains exist); false with `iptables`/`ip6tables: false` or no Docker. */
  readonly managed: boolean;
  /** Whether FORWARD has Docker's own jump to DOCKER-USER (Docker keeps it at the top). */
  readonly dockerJump: boolean;
  /** Docker's bridges (`docker0`, `br-…`), as its rules name them. */
  readonly bridges: ReadonlySet<string>;
  /** The 0-based index in FORWARD of the first rule that is Docker's (other than its jump to DOCKER-USER); `undefined` when none is. */
  readonly firstDockerForwardRule: number | undefined;
  /** The container addresses (no prefix) whose direct access Docker itself drops in raw PREROUTING (28+, unless allow-direct-routing). */
  readonly directAccessDropped: ReadonlySet<string>;
}

/** Reads one family's Docker layout out of its ruleset (every table, as `iptables-save` printed it). */
export function dockerLayout(ruleset: Ruleset): DockerLayout {
  const filter = findTable(ruleset, "filter");
  const nat = findTable(ruleset, "nat");
  const forward = chainRules(filter, "FORWARD");
  const bridges = new Set<string>();
  for (const rule of [...forward, ...chainRules(nat, "DOCKER"), ...chainRules(filter, "DOCKER")]) {
    const parsed = dockerRuleInterfaces(rule);
    if (parsed) for (const name of parsed) bridges.add(name);
  }
  const isDockers = (rule: SavedRule) => {
    const line = ruleLine(rule);
    if (line === DOCKER_JUMP) return false;
    const target = targetOf(rule);
    return (target !== undefined && target.startsWith("DOCKER") && target !== DOCKER_USER) || interfacesOf(rule).some((i) => bridges.has(i));
  };
  const first = forward.findIndex(isDockers);
  const directAccessDropped = new Set<string>();
  for (const rule of chainRules(findTable(ruleset, "raw"), "PREROUTING")) {
    const parsed = parseRule(rule.tokens);
    const destination = parsed?.matches.destination;
    const inInterface = parsed?.matches.inInterface;
    if (parsed?.target === "DROP" && destination && !destination.negated && inInterface?.negated && bridges.has(inInterface.value)) {
      directAccessDropped.add(destination.value.replace(/\/(32|128)$/, ""));
    }
  }
  return {
    managed: hasChain(filter, "DOCKER") || hasChain(nat, "DOCKER") || hasChain(filter, "DOCKER-FORWARD"),
    dockerJump: forward.some((r) => ruleLine(r) === DOCKER_JUMP),
    bridges,
    firstDockerForwardRule: first >= 0 ? first : undefined,
    directAccessDropped,
  };
}

/** The bridge names a rule of Docker's shows: `-o BR -j DOCKER` in FORWARD, `-i BR -j RETURN` and `! -i BR … -j DNAT` in nat DOCKER, `! -i BR -o BR` in filter DOCKER. */
function dockerRuleInterfaces(rule: SavedRule): string[] | undefined {
  const target = targetOf(rule);
  if (rule.chain === "FORWARD" && target !== "DOCKER") return undefined;
  return interfacesOf(rule);
}

/** The interfaces a rule names with `-i`/`-o` (negated or not). */
export function interfacesOf(rule: SavedRule): string[] {
  const out: string[] = [];
  rule.tokens.forEach((t, i) => {
    if ((t.text === "-i" || t.text === "-o") && !t.quoted && rule.tokens[i + 1]) out.push(rule.tokens[i + 1].text);
  });
  return out;
}

/** A rule's `-j` target. */
function targetOf(rule: SavedRule): string | undefined {
  const i = rule.tokens.findIndex((t) => t.text === "-j" && !t.quoted);
  return i >= 0 ? rule.tokens[i + 1]?.text : undefined;
}
