import { z } from "zod";
import { NftOutputError } from "./nft-errors";

/**
 * The part of nft's JSON output (`nft -j list …`, schema version 1) that we
 * read. Each object of the `nftables` array holds one item (`table`,
 * `chain`, `rule`, `map`, …); items we do not read are passed over.
 * Expressions stay `unknown` JSON here: the readers decide what they know.
 */

/** A JSON value as nft prints it in an expression. */
export type NftJsonValue = unknown;

/** One statement of a rule (`{ "match": … }`, `{ "accept": null }`, `{ "counter": … }`, …). */
export type NftStatement = Readonly<Record<string, NftJsonValue>>;

/** A `table` item. */
export interface NftTableItem {
  readonly family: string;
  readonly name: string;
  readonly handle: number;
}

/** A `chain` item; base chains have type, hook, prio and policy. */
export interface NftChainItem {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly handle: number;
  readonly type?: string;
  readonly hook?: string;
  readonly prio?: number;
  readonly policy?: string;
}

/** A `rule` item. */
export interface NftRuleItem {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly handle: number;
  readonly comment?: string;
  readonly expr: readonly NftStatement[];
}

/** The items of one document, by kind, each in the order nft printed them. */
export interface NftDocument {
  readonly tables: readonly NftTableItem[];
  readonly chains: readonly NftChainItem[];
  readonly rules: readonly NftRuleItem[];
}

const table = z.object({ family: z.string(), name: z.string(), handle: z.number() });
const chain = z.object({
  family: z.string(),
  table: z.string(),
  name: z.string(),
  handle: z.number(),
  type: z.string().optional(),
  hook: z.string().optional(),
  prio: z.number().optional(),
  policy: z.string().optional(),
});
const rule = z.object({
  family: z.string(),
  table: z.string(),
  chain: z.string(),
  handle: z.number(),
  comment: z.string().optional(),
  expr: z.array(z.record(z.string(), z.unknown())),
});
const document = z.object({ nftables: z.array(z.record(z.string(), z.unknown())) });

/**
 * Reads the stdout of `nft -j list …` into its tables, chains and rules.
 * @throws NftOutputError when it is not JSON, or not nft's document shape
 */
export function parseNftDocument(stdout: string): NftDocument {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (e) {
    throw new NftOutputError(`nft printed no JSON document: ${(e as Error).message}`);
  }
  const parsed = document.safeParse(json);
  if (!parsed.success) throw new NftOutputError(`nft's JSON has no "nftables" array: ${parsed.error.message}`);
  const out: { tables: NftTableItem[]; chains: NftChainItem[]; rules: NftRuleItem[] } = { tables: [], chains: [], rules: [] };
  for (const item of parsed.data.nftables) {
    if ("table" in item) out.tables.push(itemOf(table, item.table, "table"));
    else if ("chain" in item) out.chains.push(itemOf(chain, item.chain, "chain"));
    else if ("rule" in item) out.rules.push(itemOf(rule, item.rule, "rule"));
  }
  return out;
}

function itemOf<T>(schema: z.ZodType<T>, value: unknown, kind: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new NftOutputError(`nft printed a ${kind} we cannot read: ${parsed.error.message}`);
  return parsed.data;
}
