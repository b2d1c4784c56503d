import { readFileSync } from "node:fs";
import { join } from "node:path";
import { planFamily } from "../../provider/host-session";
import { restoreInput } from "../../provider/iptables/restore-script";
import { rollbackInput } from "../../provider/iptables/rollback-script";
import { parseSave, renderSave, type Ruleset } from "../../provider/iptables/ruleset";
import { formatTag, parseTag } from "../../provider/ownership";
import type { OwnedRule } from "../../provider/planner";
import { applyRestore } from "../../provider/testing/fake-host";

const FIXTURES = join(__dirname, "../fixtures/docker-20.10");
const V4 = parseSave(readFileSync(join(FIXTURES, "02-published-8080.v4.txt"), "utf8"));
/** ip6tables under Docker 20.10: no DOCKER-USER, so a plan creates it and our jump. */
const V6 = parseSave(readFileSync(join(FIXTURES, "ipv6-02-published-8080.v6.txt"), "utf8"));

function rule(name: string, priority = 500): OwnedRule {
  const comment = formatTag({ owner: `p/s/rule/${name}`, priority, index: 0 });
  return { text: `-A DOCKER-USER -s 10.0.0.${priority % 250}/32 -m comment --comment "${comment}" -j DROP`, tag: parseTag(comment)! };
}
const change = (name: string, ...rules: OwnedRule[]) => ({ owner: `p/s/rule/${name}`, rules });
const apply = (ruleset: Ruleset, input: string) => (input === "" ? ruleset : applyRestore(ruleset, input, {}, true));

/** Plans `changes` against `before`, applies them, lets `meanwhile` edit the host, then applies the rollback input. */
function roundTrip(before: Ruleset, changes: ReturnType<typeof change>[], meanwhile = "") {
  const operations = planFamily(before, changes).filter((op) => op.kind !== "delete-table");
  const applied = apply(before, restoreInput(operations));
  const undo = rollbackInput(before, operations);
  return { operations, applied, undo, after: apply(apply(applied, meanwhile), undo) };
}

describe("rollbackInput", () => {
  it("deletes the rules a transaction inserted by their text, last first", () => {
    const { undo, after } = roundTrip(V4, [change("a", rule("a", 100)), change("b", rule("b", 200))]);
    expect(undo).toBe(["*filter", `-D ${rule("b", 200).text.slice(3)}`, `-D ${rule("a", 100).text.slice(3)}`, "COMMIT", ""].join("\n"));
    expect(renderSave(after)).toBe(renderSave(V4));
  });

  it("takes back a chain and a jump it created: rules deleted, jump deleted, chain removed", () => {
    const { operations, undo, after } = roundTrip(V6, [change("a", rule("a"))]);
    expect(operations.map((op) => op.kind)).toEqual(["create-chain", "insert-jump", "insert"]);
    // Docker 20.10's IPv6 has no DOCKER-USER: ours lives in the mangle table, and so does its undo.
    expect(undo.split("\n").map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(["*mangle", "-D DOCKER-USER", "-D FORWARD", "-X DOCKER-USER", "COMMIT", ""]);
    // The mangle table the restore made stays, empty (tables are dropped with our last rule, not by a rollback).
    expect(after.tables.find((t) => t.name === "mangle")?.rules).toEqual([]);
    expect(renderSave({ ...after, tables: after.tables.filter((t) => t.name !== "mangle") })).toBe(renderSave(V6));
  });

  it("puts back deleted rules where they stood, and removes the ones that replaced them", () => {
    const withOurs = apply(V4, restoreInput(planFamily(V4, [change("a", rule("a", 100)), change("b", rule("b", 300)), change("c", rule("c", 400))])));
    const { operations, after } = roundTrip(withOurs, [change("b"), change("c", rule("c", 50))]);
    expect(operations.map((op) => op.kind)).toEqual(["delete", "delete", "insert"]);
    expect(renderSave(after)).toBe(renderSave(withOurs));
  });

  it("re-creates a chain and our jump that the transaction removed with its last rule, the chain with -N (never a flushing chain line)", () => {
    const withOurs = apply(V6, restoreInput(planFamily(V6, [change("a", rule("a"))])));
    const { operations, undo, after } = roundTrip(withOurs, [change("a")]);
    expect(operations.map((op) => op.kind)).toEqual(["delete", "delete-jump", "delete-chain"]);
    expect(undo).toContain("-N DOCKER-USER");
    expect(undo).not.toMatch(/^:/m);
    expect(renderSave(after)).toBe(renderSave(withOurs));
  });

  it("moves a raised jump back where it was", () => {
    const low = apply(V4, "*filter\n-D FORWARD -j DOCKER-USER\n-I FORWARD 3 -j DOCKER-USER\nCOMMIT\n");
    const { operations, after } = roundTrip(low, [change("a", rule("a"))]);
    expect(operations.map((op) => op.kind)).toEqual(["raise-jump", "insert"]);
    expect(renderSave(after)).toBe(renderSave(low));
  });

  it("leaves what others wrote in between: the result is the host before, plus their rules (ours back at the positions they had)", () => {
    const withOurs = apply(V4, restoreInput(planFamily(V4, [change("a", rule("a", 100)), change("b", rule("b", 300))])));
    const foreign = ["-A DOCKER-USER -s 192.0.2.9/32 -j ACCEPT", "-A DOCKER -d 172.17.0.9/32 -p tcp -m tcp --dport 81 -j ACCEPT"];
    const meanwhile = `*filter\n-I DOCKER-USER 1 ${foreign[0].slice(15)}\n${foreign[1]}\nCOMMIT\n`;
    const { after } = roundTrip(withOurs, [change("a"), change("b", rule("b", 300)), change("c", rule("c", 200))], meanwhile);
    // a was deleted from the top of DOCKER-USER and goes back to the top, above the foreign rule inserted there meanwhile.
    const expected = apply(withOurs, `*filter\n-I DOCKER-USER 2 ${foreign[0].slice(15)}\n${foreign[1]}\nCOMMIT\n`);
    expect(renderSave(after)).toBe(renderSave(expected));
  });

  it("is empty when there is nothing to take back", () => {
    expect(rollbackInput(V4, [])).toBe("");
  });
});
