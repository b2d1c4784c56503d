import { chainOf, type ChainState, type GuardedChain, type LiveRule } from "./chains";
import { DOCKER_USER } from "./docker/layout";
import { FirewallError } from "./errors";
import { FAMILIES, type Family } from "./family";
import { parseRule } from "./iptables/rule";
import { tokenize } from "./iptables/tokens";
import { BASE_CHAINS, guardedChainOf, type NftChainName } from "./nftables/names";
import { renderNftRule } from "./nftables/nft-rule";
import type { NftLiveRule } from "./nftables/table-state";
import { nftTransaction, type NftPlannedRule } from "./nftables/transaction";
import type { PlannedChange } from "./host-session";
import type { NftState } from "./nft-state";
import { planChain, type Operation, type OwnedRule } from "./planner";

/** The nftables part of a transaction: what it repairs per family (for messages and drift), and the `nft -f` script that does it. */
export interface NftPlan {
  readonly operations: Readonly<Record<Family, readonly Operation[]>>;
  /** The script for both families; `""` when nothing changes. */
  readonly script: string;
}

/** A plan that changes nothing. */
export const NO_NFT_PLAN: NftPlan = { operations: { ipv4: [], ipv6: [] }, script: "" };

/**
 * Plans our nftables tables for the changes, the way DOCKER-USER and INPUT
 * are planned on iptables (planner.ts: our rules a block ordered by tag,
 * other owners' and foreign rules never touched): DOCKER-USER's rules go
 * in our `forward` base chain, INPUT's in `input`, each rule written as
 * nft prints it. The script deletes by handle and inserts before the next
 * rule that stays, creates the table and chains when missing, and deletes
 * the table with its last rule (or, with the next change, a table of ours
 * someone emptied).
 * @throws FirewallError when a rule cannot be written in nftables (see {@link nftRules})
 */
export function planNft(state: NftState, changes: readonly PlannedChange[]): NftPlan {
  const operations: Record<Family, Operation[]> = { ipv4: [], ipv6: [] };
  let script = "";
  for (const family of FAMILIES) {
    const table = state.ours[family];
    const chains = {} as Record<NftChainName, NftPlannedRule[]>;
    for (const spec of BASE_CHAINS) {
      const live = table?.chains.find((c) => c.name === spec.name)?.rules ?? [];
      const handles = new Map<LiveRule, number>();
      const rules = live.map((r) => {
        const rule = liveRule(r);
        handles.set(rule, r.handle);
        return rule;
      });
      const guarded = guardedChainOf(spec.name) as GuardedChain;
      const plan = planChain(nftChainState(guarded, rules), changes.map((c) => ({ owner: c.owner, rules: nftRules(c.rules[family], family, guarded) })));
      operations[family].push(...plan.operations);
      chains[spec.name] = plan.result.map((r) => (handles.has(r) ? { handle: handles.get(r)! } : { text: r.text }));
    }
    // A table of ours left with no rule at all (emptied by hand) goes with the next change.
    const leftEmpty = table !== undefined && changes.length > 0 && table.chains.every((c) => c.rules.length === 0);
    if (operations[family].length === 0 && leftEmpty) operations[family].push({ kind: "delete-table" });
    if (operations[family].length > 0) script += nftTransaction({ family, table, chains });
  }
  return { operations, script };
}

/** A live rule of ours as the planner sees it: its text as nft prints it, and its tag. */
function liveRule(rule: NftLiveRule): LiveRule {
  return rule.tag ? { text: rule.text, tag: rule.tag } : { text: rule.text };
}

/** One of our base chains as the planner's chain state: it always exists (the script makes it) and needs no jump. */
function nftChainState(chain: GuardedChain, rules: readonly LiveRule[]): ChainState {
  return { chain, exists: true, needsJump: false, dockerJump: false, ourJump: false, jumpFirst: true, otherReferences: 0, rules };
}

/**
 * A resource's rules of one guarded chain, written as nft prints them, with
 * their tags.
 * @throws FirewallError naming the rule, when nftables cannot express it
 *   (see `renderNftRule`: e.g. a comment over 128 bytes)
 */
export function nftRules(rules: readonly OwnedRule[], family: Family, chain: GuardedChain = DOCKER_USER): OwnedRule[] {
  return rules
    .filter((r) => chainOf(r.text) === chain)
    .map((r) => {
      const rule = parseRule(tokenize(r.text));
      if (!rule) throw new FirewallError(`cannot read back our own rule: ${r.text}`);
      try {
        return { text: renderNftRule(rule, family), tag: r.tag };
      } catch (error) {
        throw new FirewallError(`${family}: this rule cannot be written in nftables (${error instanceof Error ? error.message : String(error)}): ${r.text}`);
      }
    });
}
