import { isDeepStrictEqual } from "node:util";
import type { Family } from "../family";
import type { MatchField } from "../iptables/flag-table";
import type { MatchValue, Rule } from "../iptables/rule";
import { NFT_FIELD_TABLE, readFieldMatch, type NftFieldSpec } from "./field-table";
import { guardedChainOf } from "./names";
import { NftRenderError } from "./nft-errors";
import type { NftJsonValue, NftRuleItem, NftStatement } from "./nft-json";

/**
 * A rule of the model (what `buildRule` returns, the model iptables rules
 * use too) as nft text and nft JSON, and back from nft's JSON. Every field
 * goes through {@link NFT_FIELD_TABLE}; this file adds the verdict and the
 * comment, which nft prints after the matches.
 */

/** nft's longest comment (NFTNL_UDATA_COMMENT_MAXLEN). */
export const NFT_COMMENT_MAX = 128;

/** What `reject` is in each family: iptables' default `--reject-with` and nft's (both ICMP port unreachable). */
const REJECT: Readonly<Record<Family, { readonly option: string; readonly json: NftJsonValue }>> = {
  ipv4: { option: "icmp-port-unreachable", json: { type: "icmp", expr: "port-unreachable" } },
  ipv6: { option: "icmp6-port-unreachable", json: { type: "icmpv6", expr: "port-unreachable" } },
};

const VERDICTS: Readonly<Record<string, string>> = { ACCEPT: "accept", DROP: "drop", RETURN: "return", REJECT: "reject" };

/** One written match: the row and the rule's value of its field. */
interface WrittenMatch {
  readonly spec: NftFieldSpec;
  readonly match: MatchValue;
}

function writtenMatches(rule: Rule): WrittenMatch[] {
  const out: WrittenMatch[] = [];
  for (const spec of NFT_FIELD_TABLE) {
    const match = rule.matches[spec.field];
    if (!match || !spec.written(rule.matches)) continue;
    if (match.negated && !spec.negation) throw new NftRenderError(`${spec.field} cannot be negated`);
    out.push({ spec, match });
  }
  return out;
}

function verdictOf(rule: Rule, family: Family): string {
  const verdict = Object.hasOwn(VERDICTS, rule.target) ? VERDICTS[rule.target] : undefined;
  const options = rule.targetOptions.join(" ");
  const plain = options === (rule.target === "REJECT" ? `--reject-with ${REJECT[family].option}` : "");
  if (!verdict || !plain) throw new NftRenderError(`target ${[rule.target, ...rule.targetOptions].join(" ")} has no nft form here (ACCEPT, DROP, RETURN, and REJECT with ICMP port unreachable only)`);
  return verdict;
}

function commentOf(rule: Rule): string | undefined {
  const comment = rule.matches.comment;
  if (!comment) return undefined;
  if (comment.negated || comment.value.includes('"') || comment.value.includes("\n")) throw new NftRenderError(`comment ${JSON.stringify(comment.value)} cannot be written in nft`);
  const bytes = Buffer.byteLength(comment.value);
  if (bytes > NFT_COMMENT_MAX) {
    throw new NftRenderError(`the comment (ownership tag and note) has ${bytes} characters; nftables allows ${NFT_COMMENT_MAX}: shorten the comment or the names`);
  }
  return comment.value;
}

/**
 * The rule as `nft list table` prints it back (without `# handle N`), for
 * the family's table: `ip saddr 10.0.0.0/8 tcp dport 80 accept comment "…"`.
 * The rule's chain is not part of it (see `nftChainOf`).
 * @throws NftRenderError when no one nft rule expresses it
 */
export function renderNftRule(rule: Rule, family: Family): string {
  const words: string[] = [];
  for (const { spec, match } of writtenMatches(rule)) {
    words.push(spec.subject(match.value, rule.matches, family).text);
    if (match.negated) words.push(spec.negation!);
    words.push(spec.value(match.value, family).text);
  }
  words.push(verdictOf(rule, family));
  const comment = commentOf(rule);
  if (comment !== undefined) words.push(`comment "${comment}"`);
  return words.join(" ");
}

/**
 * The rule's statements as `nft -j` prints them (`expr` of a rule item).
 * @throws NftRenderError when no one nft rule expresses it
 */
export function nftRuleStatements(rule: Rule, family: Family): NftStatement[] {
  const statements: NftStatement[] = writtenMatches(rule).map(({ spec, match }) => ({
      match: {
        op: match.negated ? spec.negation! : spec.positive,
        left: spec.subject(match.value, rule.matches, family).json,
        right: spec.value(match.value, family).json,
      },
    }));
  const verdict = verdictOf(rule, family);
  statements.push({ [verdict]: verdict === "reject" ? REJECT[family].json : null });
  return statements;
}

/**
 * Reads a rule item of `nft -j list table …` back into the model. Returns
 * `undefined` for a rule with anything the table does not know (a counter,
 * a jump, a set of addresses, …): such a rule is foreign, never guessed at.
 * A rule read here encodes back to exactly the statements nft printed, and
 * {@link renderNftRule} of it is the text nft prints for it.
 */
export function parseNftRule(item: NftRuleItem, family: Family): Rule | undefined {
  const matches: Partial<Record<MatchField, MatchValue>> = {};
  let implied: string | undefined;
  let target: string | undefined;
  for (const statement of item.expr) {
    if (target !== undefined) return undefined;
    const keys = Object.keys(statement);
    if (keys.length !== 1) return undefined;
    if (keys[0] === "match") {
      const read = readFieldMatch(statement.match, family, (field) => !matches[field]);
      if (!read) return undefined;
      matches[read.field] = { value: read.value, negated: read.negated };
      implied ??= read.protocol;
      continue;
    }
    target = Object.keys(VERDICTS).find((t) => VERDICTS[t] === keys[0]);
    if (target === undefined) return undefined;
  }
  if (target === undefined) return undefined;
  if (implied !== undefined && !matches.protocol) matches.protocol = { value: implied, negated: false };
  if (item.comment !== undefined) matches.comment = { value: item.comment, negated: false };
  const rule: Rule = { chain: guardedChainOf(item.chain), matches, target, targetOptions: target === "REJECT" ? ["--reject-with", REJECT[family].option] : [] };
  try {
    return isDeepStrictEqual(nftRuleStatements(rule, family), item.expr) && commentOf(rule) === item.comment ? rule : undefined;
  } catch (e) {
    if (e instanceof NftRenderError) return undefined;
    throw e;
  }
}
