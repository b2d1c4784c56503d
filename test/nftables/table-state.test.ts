import { parseNftDocument } from "../../provider/nftables/nft-json";
import { readNftTable } from "../../provider/nftables/table-state";

/** `nft -j list table ip pulumi-docker-firewall` (nft 1.0.6): a rule of ours, a foreign rule with a counter, and a regular chain. */
const LISTING = JSON.stringify({
  nftables: [
    { metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } },
    { table: { family: "ip", name: "pulumi-docker-firewall", handle: 3 } },
    { chain: { family: "ip", table: "pulumi-docker-firewall", name: "forward", handle: 1, type: "filter", hook: "forward", prio: -10, policy: "accept" } },
    { chain: { family: "ip", table: "pulumi-docker-firewall", name: "input", handle: 2, type: "filter", hook: "input", prio: -10, policy: "accept" } },
    { chain: { family: "ip", table: "pulumi-docker-firewall", name: "mine", handle: 4 } },
    {
      rule: {
        family: "ip", table: "pulumi-docker-firewall", chain: "forward", handle: 5, comment: "pdf:p/s/port/web:100:1 office",
        expr: [{ match: { op: "in", left: { ct: { key: "status" } }, right: "dnat" } }, { drop: null }],
      },
    },
    {
      rule: {
        family: "ip", table: "pulumi-docker-firewall", chain: "forward", handle: 6,
        expr: [{ match: { op: "==", left: { meta: { key: "l4proto" } }, right: "tcp" } }, { counter: { packets: 0, bytes: 0 } }, { drop: null }],
      },
    },
  ],
});

describe("readNftTable", () => {
  it("reads chains with hook, priority and policy, and rules in order with handle, model, tag and text", () => {
    const table = readNftTable(parseNftDocument(LISTING), "ipv4")!;
    expect(table.chains.map((c) => [c.name, c.hook, c.priority, c.policy, c.rules.length])).toEqual([
      ["forward", "forward", -10, "accept", 2],
      ["input", "input", -10, "accept", 0],
      ["mine", undefined, undefined, undefined, 0],
    ]);
    const [ours, foreign] = table.chains[0].rules;
    expect(ours).toMatchObject({ handle: 5, text: 'ct status dnat drop comment "pdf:p/s/port/web:100:1 office"', comment: "pdf:p/s/port/web:100:1 office", tag: { owner: "p/s/port/web", priority: 100, index: 1, note: "office" } });
    expect(ours.rule?.matches.ctstate).toEqual({ value: "DNAT", negated: false });
    expect(foreign.rule).toBeUndefined();
    expect(foreign.tag).toBeUndefined();
    expect(JSON.parse(foreign.text)).toEqual(foreign.statements);
  });

  it("is undefined for a family whose table the listing lacks", () => {
    expect(readNftTable(parseNftDocument(LISTING), "ipv6")).toBeUndefined();
  });
});
