import { chainState, GUARDED_PLACES, type GuardedChain, type LiveRule } from "./chains";
import { dockerLayout } from "./docker/layout";
import type { Firewall } from "./firewall-choice";
import type { Family } from "./family";
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
export function ownedLiveRules(snapshot: Snapshot, family: Family, owner: string): OwnedLiveRule[] {
  const layout = dockerLayout(snapshot[family]);
  const onIptables = GUARDED_PLACES.flatMap((place) => {
    const state = chainState(snapshot[family], place.chain, layout, place.table);
    const reached = place.chain === "INPUT" || ((state.dockerJump || state.ourJump) && state.jumpFirst);
    return state.rules.filter((r) => r.tag?.owner === owner).map((r) => ({ ...r, chain: place.chain, firewall: "iptables" as const, rule: parseRule(tokenize(r.text)), reached }));
  });
  const onNft = (snapshot.nft.ours[family]?.chains ?? []).flatMap((chain) =>
    chain.rules
      .filter((r) => r.tag?.owner === owner)
      .map((r) => ({ text: r.text, tag: r.tag, chain: guardedChainOf(chain.name) as GuardedChain, firewall: "nftables" as const, rule: r.rule, reached: chain.hook !== undefined })),
  );
  return [...onIptables, ...onNft];
}
