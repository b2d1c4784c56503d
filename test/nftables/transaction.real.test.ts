import type { Family } from "../../provider/family";
import { FAMILIES } from "../../provider/family";
import { nftFamily, OUR_TABLE, type NftChainName } from "../../provider/nftables/names";
import { parseNftDocument } from "../../provider/nftables/nft-json";
import { renderNftRule } from "../../provider/nftables/nft-rule";
import { readTableList } from "../../provider/nftables/table-list";
import { readNftTable, type NftTableState } from "../../provider/nftables/table-state";
import { nftTransaction, type NftPlannedRule } from "../../provider/nftables/transaction";
import { formatTag } from "../../provider/ownership";
import { buildRule } from "../../provider/resources/docker-user-rule";
import { Netns } from "../support/netns";

/*
 * The transaction writer against real nft: a sequence of plans per family,
 * each applied with `nft -c -f` then `nft -f`, and the table read back after
 * each: every chain holds the planned rules in the planned order, rules that
 * stay keep their handles (nothing was rewritten), and when no rule is left
 * the table is gone.
 */

/** A chain's plan: rule names in final order. */
type Plan = Readonly<Record<NftChainName, readonly string[]>>;

const STEPS: readonly { readonly name: string; readonly plan: Plan }[] = [
  { name: "create the table with rules in both chains", plan: { forward: ["a", "b", "c"], input: ["p"] } },
  { name: "insert in the middle", plan: { forward: ["a", "x", "b", "c"], input: ["p"] } },
  { name: "insert first and last, delete some, empty a chain", plan: { forward: ["s", "a", "x", "c", "e"], input: [] } },
  { name: "delete from both ends, insert between survivors, refill a chain", plan: { forward: ["a", "y", "c"], input: ["q", "p"] } },
  { name: "delete every rule: the table goes", plan: { forward: [], input: [] } },
  { name: "create it again", plan: { forward: ["z"], input: [] } },
];

/** The rule named `name`: a distinct port, tagged with the name. */
function ruleText(name: string, family: Family): string {
  const port = 1000 + name.charCodeAt(0);
  const tag = formatTag({ owner: `seq/test/rule/${name}`, priority: 500, index: 0 });
  return renderNftRule(buildRule({ action: "DROP", protocol: "tcp", destinationPort: port, chain: "DOCKER-USER" }, family, tag), family);
}

async function readTable(ns: Netns, family: Family): Promise<NftTableState | undefined> {
  const list = readTableList(parseNftDocument(await ns.run(["nft", "-j", "list", "tables"])));
  if (!list.ours[family]) return undefined;
  return readNftTable(parseNftDocument(await ns.run(["nft", "-j", "list", "table", nftFamily(family), OUR_TABLE])), family);
}

/** Each chain's rules as their names, with their handles. */
function contents(table: NftTableState | undefined): Record<string, { name: string; handle: number }[]> {
  const out: Record<string, { name: string; handle: number }[]> = {};
  for (const chain of table?.chains ?? []) out[chain.name] = chain.rules.map((r) => ({ name: r.tag!.name, handle: r.handle }));
  return out;
}

let ns: Netns;

beforeAll(async () => {
  ns = await Netns.create("nfttx");
});

afterAll(async () => {
  await ns?.delete();
});

describe.each(FAMILIES)("nft transactions, %s", (family) => {
  test("each step leaves the planned rules in order, the rules that stay untouched", async () => {
    for (const step of STEPS) {
      const before = await readTable(ns, family);
      const handles = new Map(Object.values(contents(before)).flat().map((r) => [r.name, r.handle]));
      const planned = (names: readonly string[]): NftPlannedRule[] => names.map((n) => (handles.has(n) ? { handle: handles.get(n)! } : { text: ruleText(n, family) }));
      const script = nftTransaction({ family, table: before, chains: { forward: planned(step.plan.forward), input: planned(step.plan.input) } });
      await ns.run(["nft", "-c", "-f", "-"], { stdin: script });
      await ns.run(["nft", "-f", "-"], { stdin: script });
      const after = await readTable(ns, family);
      const empty = step.plan.forward.length + step.plan.input.length === 0;
      expect({ step: step.name, gone: after === undefined }).toEqual({ step: step.name, gone: empty });
      if (empty) continue;
      const read = contents(after);
      expect({ step: step.name, forward: read.forward.map((r) => r.name), input: read.input.map((r) => r.name) }).toEqual({ step: step.name, ...step.plan });
      for (const rule of [...read.forward, ...read.input]) {
        if (handles.has(rule.name)) expect({ step: step.name, rule: rule.name, handle: rule.handle }).toEqual({ step: step.name, rule: rule.name, handle: handles.get(rule.name) });
      }
      // What we would render for each rule is what nft prints for it.
      for (const chain of after!.chains) for (const live of chain.rules) expect(live.text).toBe(ruleText(live.tag!.name, family));
    }
  });
});
