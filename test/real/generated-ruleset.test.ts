/**
 * The generated 50,000-rule ruleset that the parser tests and the benchmark
 * use is what iptables itself would print: restored into a namespace and
 * saved again, it comes back line for line (legacy prints its tables in
 * another order, so tables are compared one by one).
 */
import { findTable, parseSave, renderSave } from "../../provider/iptables/ruleset";
import { generateRuleset } from "../../provider/testing/generate-ruleset";
import { Netns } from "../support/netns";

const TEXT = generateRuleset(50_000);
const withoutComments = (text: string) => text.split("\n").filter((l) => !l.startsWith("#")).join("\n");

describe.each(["nft", "legacy"] as const)("a generated 50,000-rule ruleset, %s backend", (backend) => {
  it("is printed back by iptables-save exactly as generated, and parses and renders byte for byte", async () => {
    const ns = await Netns.create("gen");
    try {
      await ns.run([`iptables-${backend}-restore`], { stdin: TEXT, timeoutMs: 120_000 });
      const saved = await ns.run([`iptables-${backend}-save`], { timeoutMs: 120_000 });
      expect(renderSave(parseSave(saved))).toBe(saved);
      for (const table of ["filter", "nat"]) {
        const one = (text: string) => withoutComments(renderSave({ tables: [findTable(parseSave(text), table)!], trailer: [], finalNewline: true }));
        expect(one(saved)).toBe(one(TEXT));
      }
    } finally {
      await ns.delete();
    }
  }, 300_000);
});
