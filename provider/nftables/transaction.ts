import type { Family } from "../family";
import { BASE_CHAINS, nftFamily, OUR_TABLE, type NftChainName } from "./names";
import { NftTransactionError } from "./nft-errors";
import type { NftChainState, NftTableState } from "./table-state";

/**
 * The `nft -f` script that turns one family's table of ours into the
 * planned one with the fewest changes, applied by nft as one transaction:
 * it creates the table and base chains when missing, deletes by handle the
 * live rules the plan leaves out, inserts each new rule before the next
 * live rule that stays (or appends it when none follows), and deletes the
 * whole table when no rule is left in it.
 */

/** A rule of a chain's planned content: a live rule that stays (by its handle), or a new rule (its text, as `renderNftRule` gives it). */
export type NftPlannedRule = { readonly handle: number } | { readonly text: string };

/** What one family's transaction is asked to reach. */
export interface NftTransactionRequest {
  readonly family: Family;
  /** Our table as read (`readNftTable`); `undefined` when the family has none. */
  readonly table: NftTableState | undefined;
  /** Each base chain's rules in their final order. */
  readonly chains: Readonly<Record<NftChainName, readonly NftPlannedRule[]>>;
}

/**
 * The script for `nft -f`, one command a line; empty when nothing changes.
 * @throws NftTransactionError when the plan reorders the live rules that
 * stay, names a handle the chain does not have, or a chain of that name is
 * not our base chain
 */
export function nftTransaction(request: NftTransactionRequest): string {
  const { table } = request;
  const family = nftFamily(request.family);
  const where = `${family} ${OUR_TABLE}`;
  const planned = BASE_CHAINS.flatMap((spec) => request.chains[spec.name]);
  const elsewhere = (table?.chains ?? []).filter((c) => !BASE_CHAINS.some((spec) => spec.name === c.name)).some((c) => c.rules.length > 0);
  if (planned.length === 0 && !elsewhere) return table ? `delete table ${where}\n` : "";
  const lines: string[] = [];
  if (!table) lines.push(`add table ${where}`);
  for (const spec of BASE_CHAINS) {
    const live = table?.chains.find((c) => c.name === spec.name);
    if (live) checkBaseChain(live, spec.name);
    else lines.push(`add chain ${where} ${spec.name} { type ${spec.type} hook ${spec.hook} priority ${spec.priorityText}; policy ${spec.policy}; }`);
    lines.push(...chainChanges(`${where} ${spec.name}`, live?.rules.map((r) => r.handle) ?? [], request.chains[spec.name]));
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** Refuses a chain of our names that is not the base chain we make (it would never see the packets we mean). */
function checkBaseChain(chain: NftChainState, name: NftChainName): void {
  const spec = BASE_CHAINS.find((s) => s.name === name)!;
  if (chain.type !== spec.type || chain.hook !== spec.hook || chain.priority !== spec.priority) {
    const found = chain.hook === undefined ? "a regular chain" : `type ${chain.type} hook ${chain.hook} priority ${chain.priority}`;
    throw new NftTransactionError(`chain ${name} of table ${OUR_TABLE} is ${found}, not type ${spec.type} hook ${spec.hook} priority ${spec.priorityText}: remove it, and we make it again`);
  }
}

/** The deletes, then the inserts and appends, that turn a chain's live handles into its planned rules. */
function chainChanges(where: string, live: readonly number[], planned: readonly NftPlannedRule[]): string[] {
  const kept = planned.flatMap((r) => ("handle" in r ? [r.handle] : []));
  let previous = -1;
  for (const handle of kept) {
    const at = live.indexOf(handle);
    if (at < 0) throw new NftTransactionError(`${where}: no live rule has handle ${handle}`);
    if (at <= previous) throw new NftTransactionError(`${where}: the plan moves the live rule with handle ${handle}; live rules that stay keep their order`);
    previous = at;
  }
  const lines = live.filter((h) => !kept.includes(h)).map((h) => `delete rule ${where} handle ${h}`);
  planned.forEach((rule, index) => {
    if ("handle" in rule) return;
    if (/[\r\n]/.test(rule.text)) throw new NftTransactionError(`${where}: a rule's text spans lines`);
    const next = planned.slice(index + 1).find((r): r is { readonly handle: number } => "handle" in r);
    lines.push(next ? `insert rule ${where} position ${next.handle} ${rule.text}` : `add rule ${where} ${rule.text}`);
  });
  return lines;
}
