import { NftTransactionError } from "../../provider/nftables/nft-errors";
import { nftTransaction, type NftPlannedRule } from "../../provider/nftables/transaction";
import type { NftChainState, NftTableState } from "../../provider/nftables/table-state";

/** A base chain of ours holding rules with these handles. */
function chain(name: "forward" | "input", handles: readonly number[]): NftChainState {
  return { name, handle: name === "forward" ? 1 : 2, type: "filter", hook: name, priority: -10, policy: "accept", rules: handles.map((handle) => ({ handle, text: `r${handle}`, statements: [] })) };
}

function table(forward: readonly number[], input: readonly number[] = [], extra: readonly NftChainState[] = []): NftTableState {
  return { family: "ipv4", handle: 9, chains: [chain("forward", forward), chain("input", input), ...extra] };
}

const keep = (handle: number): NftPlannedRule => ({ handle });
const add = (text: string): NftPlannedRule => ({ text });
const T = "ip pulumi-docker-firewall";

describe("nftTransaction", () => {
  it("creates the table and both base chains, then appends the rules in order", () => {
    expect(nftTransaction({ family: "ipv6", table: undefined, chains: { forward: [add("drop"), add("accept")], input: [] } })).toBe(
      [
        "add table ip6 pulumi-docker-firewall",
        "add chain ip6 pulumi-docker-firewall forward { type filter hook forward priority filter - 10; policy accept; }",
        "add rule ip6 pulumi-docker-firewall forward drop",
        "add rule ip6 pulumi-docker-firewall forward accept",
        "add chain ip6 pulumi-docker-firewall input { type filter hook input priority filter - 10; policy accept; }",
        "",
      ].join("\n"),
    );
  });

  it("inserts each new rule before the next rule that stays, appends after the last, deletes by handle", () => {
    const script = nftTransaction({ family: "ipv4", table: table([3, 4, 5, 6], [7]), chains: { forward: [add("a"), keep(3), add("b"), add("c"), keep(5), add("d")], input: [] } });
    expect(script.split("\n")).toEqual([
      `delete rule ${T} forward handle 4`,
      `delete rule ${T} forward handle 6`,
      `insert rule ${T} forward position 3 a`,
      `insert rule ${T} forward position 5 b`,
      `insert rule ${T} forward position 5 c`,
      `add rule ${T} forward d`,
      `delete rule ${T} input handle 7`,
      "",
    ]);
  });

  it("adds a missing base chain to an existing table", () => {
    const existing: NftTableState = { family: "ipv4", handle: 9, chains: [chain("forward", [3])] };
    expect(nftTransaction({ family: "ipv4", table: existing, chains: { forward: [keep(3)], input: [add("drop")] } })).toBe(
      `add chain ${T} input { type filter hook input priority filter - 10; policy accept; }\nadd rule ${T} input drop\n`,
    );
  });

  it("writes nothing when nothing changes", () => {
    expect(nftTransaction({ family: "ipv4", table: table([3], [4]), chains: { forward: [keep(3)], input: [keep(4)] } })).toBe("");
    expect(nftTransaction({ family: "ipv4", table: undefined, chains: { forward: [], input: [] } })).toBe("");
  });

  it("deletes the table when no rule is left in it", () => {
    expect(nftTransaction({ family: "ipv4", table: table([3], [4]), chains: { forward: [], input: [] } })).toBe(`delete table ${T}\n`);
  });

  it("keeps the table while another chain in it has rules", () => {
    const other: NftChainState = { name: "someone-elses", handle: 5, rules: [{ handle: 8, text: "drop", statements: [] }] };
    expect(nftTransaction({ family: "ipv4", table: table([3], [], [other]), chains: { forward: [], input: [] } })).toBe(`delete rule ${T} forward handle 3\n`);
  });

  it("refuses to reorder live rules, to name a handle the chain lacks, or to use a chain that is not our base chain", () => {
    expect(() => nftTransaction({ family: "ipv4", table: table([3, 4]), chains: { forward: [keep(4), keep(3)], input: [] } })).toThrow(NftTransactionError);
    expect(() => nftTransaction({ family: "ipv4", table: table([3]), chains: { forward: [keep(3), keep(3)], input: [] } })).toThrow(/keep their order/);
    expect(() => nftTransaction({ family: "ipv4", table: table([3]), chains: { forward: [keep(9)], input: [] } })).toThrow(/no live rule has handle 9/);
    const regular: NftTableState = { family: "ipv4", handle: 9, chains: [{ name: "forward", handle: 1, rules: [] }] };
    expect(() => nftTransaction({ family: "ipv4", table: regular, chains: { forward: [add("drop")], input: [] } })).toThrow(/is a regular chain/);
    expect(() => nftTransaction({ family: "ipv4", table: undefined, chains: { forward: [add("drop\nflush ruleset")], input: [] } })).toThrow(/spans lines/);
  });
});
