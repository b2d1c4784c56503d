import type { Family } from "../family";
import type { Rule } from "../iptables/rule";
import { parseTag, type RuleTag } from "../ownership";
import { nftFamily, OUR_TABLE } from "./names";
import type { NftDocument, NftStatement } from "./nft-json";
import { parseNftRule, renderNftRule } from "./nft-rule";

/**
 * One family's table of ours as `nft -j list table ip|ip6
 * pulumi-docker-firewall` shows it: its chains, and each chain's rules in
 * order with their handles.
 */

/** A rule of our table, as it is on the host. */
export interface NftLiveRule {
  /** nft's handle of the rule: what a transaction deletes it by, or inserts before. */
  readonly handle: number;
  /** The rule in the model; `undefined` when it has anything the model does not know (a foreign rule). */
  readonly rule?: Rule;
  /** The rule as `nft list` prints it, when it is in the model; else its statements as nft's JSON. */
  readonly text: string;
  /** Its comment, if it has one. */
  readonly comment?: string;
  /** Who owns it, when its comment is our tag. */
  readonly tag?: RuleTag;
  /** Its statements, exactly as nft printed them. */
  readonly statements: readonly NftStatement[];
}

/** A chain of our table. */
export interface NftChainState {
  readonly name: string;
  readonly handle: number;
  /** A base chain's type (`filter`), hook (`forward`), priority (a number: `filter - 10` is -10) and policy; `undefined` for a regular chain. */
  readonly type?: string;
  readonly hook?: string;
  readonly priority?: number;
  readonly policy?: string;
  /** Its rules, in order. */
  readonly rules: readonly NftLiveRule[];
}

/** One family's table of ours. */
export interface NftTableState {
  readonly family: Family;
  readonly handle: number;
  /** Its chains, in the order nft lists them. */
  readonly chains: readonly NftChainState[];
}

/**
 * Reads our table of a family out of a parsed `nft -j list table …` (or
 * `list ruleset`) document; `undefined` when the document does not have it.
 */
export function readNftTable(document: NftDocument, family: Family): NftTableState | undefined {
  const nft = nftFamily(family);
  const ours = (item: { readonly family: string; readonly table: string }) => item.family === nft && item.table === OUR_TABLE;
  const table = document.tables.find((t) => t.family === nft && t.name === OUR_TABLE);
  if (!table) return undefined;
  const chains = document.chains.filter(ours).map((chain): NftChainState => {
    const rules = document.rules.filter((r) => ours(r) && r.chain === chain.name).map((item): NftLiveRule => {
      const rule = parseNftRule(item, family);
      const tag = parseTag(item.comment);
      return {
        handle: item.handle,
        ...(rule ? { rule } : {}),
        text: rule ? renderNftRule(rule, family) : JSON.stringify(item.expr),
        ...(item.comment !== undefined ? { comment: item.comment } : {}),
        ...(tag ? { tag } : {}),
        statements: item.expr,
      };
    });
    const base = chain.hook === undefined ? {} : { type: chain.type, hook: chain.hook, priority: chain.prio, policy: chain.policy };
    return { name: chain.name, handle: chain.handle, ...base, rules };
  });
  return { family, handle: table.handle, chains };
}
