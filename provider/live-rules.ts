import { chainState, GUARDED_PLACES, type GuardedChain, type LiveRule } from "./chains";
import { dockerLayout } from "./docker/layout";
import type { Firewall } from "./firewall-choice";
import { FAMILIES, type Family } from "./family";
import type { Snapshot } from "./host-session";
import { parseRule, type Rule } from "./iptables/rule";
import { tokenize } from "./iptables/tokens";
import { guardedChainOf } from "./nftables/names";

/** A rule of an owner's on the host, wherever it lives. */
export interface OwnedLiveRule extends LiveRule {
  /** The guarded chain it acts in: DOCKER-USER (nftables: our `forward` chain) or INPUT (`input`). */
  readonly chain: GuardedChain;
  /** The firewall it lives in. */
  readonly firewall: Firewall;
  /** The rule in the model; `undefined` when it cannot be read (it was altered beyond the model). */
  readonly rule: Rule | undefined;
  /** Whether packets reach it: INPUT and our nftables base chains always; DOCKER-USER when FORWARD jumps there before Docker's rules. */
  readonly reached: boolean;
}

/**
 * An owner's rules on the host as read, in one family: in DOCKER-USER
 * (filter or mangle) and INPUT, then in our nftables chains. While a
 * resource moves between firewalls (`firewall`, or Docker switching its
 * backend), it has rules in both.
 */
export function ownedLiveRules(snapshot: Snapshot, family: Family, owner: string): readonly OwnedLiveRule[] {
  return indexOf(snapshot).get(owner)?.[family] ?? [];
}

/** Every owner with rules on the host as read, in either firewall. */
export function ownersOnHost(snapshot: Snapshot): string[] {
  return [...indexOf(snapshot).keys()];
}

/** The snapshot's owner index, made on first use. */
function indexOf(snapshot: Snapshot): ReadonlyMap<string, Record<Family, OwnedLiveRule[]>> {
  let index = rulesByOwner.get(snapshot);
  if (!index) rulesByOwner.set(snapshot, (index = indexByOwner(snapshot)));
  return index;
}

/**
 * Every owner's rules, per snapshot (snapshots are never changed once read).
 * All the resources a transaction carries get its one snapshot: indexing it
 * once, rather than scanning it once per resource, keeps a batch of n
 * creates O(n) instead of O(n²).
 */
const rulesByOwner = new WeakMap<Snapshot, ReadonlyMap<string, Record<Family, OwnedLiveRule[]>>>();

/** Every owner's rules in a snapshot, per family, in the order {@link ownedLiveRules} gives them. */
function indexByOwner(snapshot: Snapshot): Map<string, Record<Family, OwnedLiveRule[]>> {
  const index = new Map<string, Record<Family, OwnedLiveRule[]>>();
  const add = (family: Family, rule: OwnedLiveRule) => {
    const own = index.get(rule.tag!.owner) ?? { ipv4: [], ipv6: [] };
    own[family].push(rule);
    index.set(rule.tag!.owner, own);
  };
  for (const family of FAMILIES) {
    const layout = dockerLayout(snapshot[family]);
    for (const place of GUARDED_PLACES) {
      const state = chainState(snapshot[family], place.chain, layout, place.table);
      const reached = place.chain === "INPUT" || ((state.dockerJump || state.ourJump) && state.jumpFirst);
      for (const r of state.rules) if (r.tag) add(family, { ...r, chain: place.chain, firewall: "iptables", rule: parseRule(tokenize(r.text)), reached });
    }
    for (const chain of snapshot.nft.ours[family]?.chains ?? []) {
      for (const r of chain.rules) {
        if (r.tag) add(family, { text: r.text, tag: r.tag, chain: guardedChainOf(chain.name) as GuardedChain, firewall: "nftables", rule: r.rule, reached: chain.hook !== undefined });
      }
    }
  }
  return index;
}
