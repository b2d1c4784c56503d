import { chainState, type ChainState, type LiveRule } from "../provider/chains";
import { formatTag, parseTag } from "../provider/ownership";
import { planChain, type OwnedRule, type OwnerChange } from "../provider/planner";
import { restoreInput } from "../provider/iptables/restore-script";
import { parseSave, renderSave } from "../provider/iptables/ruleset";
import { applyRestore } from "../provider/testing/fake-host";

/** One of our rules: owner `p/s/rule/<name>`, dropping traffic from `source`. */
function owned(name: string, priority = 500, index = 0, source = "10.0.0.1/32"): OwnedRule {
  const comment = formatTag({ owner: `p/s/rule/${name}`, priority, index });
  return { text: `-A DOCKER-USER -s ${source} -m comment --comment "${comment}" -j DROP`, tag: parseTag(comment)! };
}

const foreign = (text: string): LiveRule => ({ text: `-A DOCKER-USER ${text}` });
const RETURN = foreign("-j RETURN");
const state = (rules: LiveRule[], exists = true, dockerJump = true, ourJump = false, jumpFirst = true): ChainState => ({
  chain: "DOCKER-USER",
  exists,
  needsJump: true,
  dockerJump,
  ourJump,
  jumpFirst,
  otherReferences: 0,
  rules,
});
const change = (name: string, rules: OwnedRule[]): OwnerChange => ({ owner: `p/s/rule/${name}`, rules });

describe("planChain", () => {
  it("inserts a new rule at the top, above Docker's RETURN", () => {
    const plan = planChain(state([RETURN]), [change("a", [owned("a")])]);
    expect(plan.operations).toEqual([{ kind: "insert", position: 1, text: owned("a").text }]);
    expect(plan.result.map((r) => r.text)).toEqual([owned("a").text, RETURN.text]);
  });

  it("moves Docker's jump back above Docker's other rules, only when a change touches the chain", () => {
    expect(planChain(state([owned("a")], true, true, false, false), [change("a", [owned("a")])]).operations).toEqual([{ kind: "raise-jump" }]);
    expect(planChain(state([owned("a")], true, true, false, false), [change("b", [])]).operations).toEqual([{ kind: "raise-jump" }]);
    // A read plans nothing at all.
    expect(planChain(state([owned("a")], true, true, false, false), []).operations).toEqual([]);
    // No rule of ours is left: nothing to protect.
    expect(planChain(state([RETURN], true, true, false, false), [change("a", [])]).operations).toEqual([]);
  });

  it("creates the chain and FORWARD's jump when they are missing", () => {
    const plan = planChain(state([], false, false), [change("a", [owned("a")])]);
    expect(plan.operations.map((o) => o.kind)).toEqual(["create-chain", "insert-jump", "insert"]);
  });

  it("restores only the jump when the chain exists but FORWARD no longer jumps to it", () => {
    const plan = planChain(state([owned("a")], true, false), [change("a", [owned("a")])]);
    expect(plan.operations).toEqual([{ kind: "insert-jump" }]);
  });

  it("removes our jump and the chain we created with the last of our rules", () => {
    const plan = planChain(state([owned("a")], true, false, true), [change("a", [])]);
    expect(plan.operations.map((o) => o.kind)).toEqual(["delete", "delete-jump", "delete-chain"]);
  });

  it("keeps our jump while foreign rules of other stacks are left, and never removes Docker's jump or chain", () => {
    expect(planChain(state([owned("a"), owned("b")], true, false, true), [change("a", [])]).operations.map((o) => o.kind)).toEqual(["delete"]);
    expect(planChain(state([owned("a"), RETURN], true, true, false), [change("a", [])]).operations.map((o) => o.kind)).toEqual(["delete"]);
    expect(planChain(state([owned("a"), RETURN], true, false, true), [change("a", [])]).operations.map((o) => o.kind)).toEqual(["delete", "delete-jump"]);
    // A hand-written rule in the chain we made keeps working: our jump stays for it.
    expect(planChain(state([owned("a"), foreign("-s 192.0.2.1/32 -j DROP")], true, false, true), [change("a", [])]).operations.map((o) => o.kind)).toEqual(["delete"]);
  });

  it("removes our jump once Docker jumps to the chain itself, so packets pass it once", () => {
    expect(planChain(state([owned("a")], true, true, true), [change("a", [owned("a")])]).operations).toEqual([{ kind: "delete-jump" }]);
  });

  it("plans nothing when the chain already holds the rule in place", () => {
    expect(planChain(state([owned("a"), RETURN]), [change("a", [owned("a")])]).operations).toEqual([]);
  });

  it("orders our rules by priority, then name, whatever order they come in", () => {
    const plan = planChain(state([RETURN]), [change("c", [owned("c", 300)]), change("a", [owned("a", 100)]), change("b", [owned("b", 200)]), change("aa", [owned("aa", 200)])]);
    expect(plan.result.map((r) => r.tag?.name ?? "RETURN")).toEqual(["a", "aa", "b", "c", "RETURN"]);
  });

  it("places a new rule one past the last owned rule that sorts before it", () => {
    const live = [owned("a", 100), owned("c", 300), foreign("-s 192.0.2.1/32 -j ACCEPT"), RETURN];
    const plan = planChain(state(live), [change("b", [owned("b", 200)])]);
    expect(plan.operations).toEqual([{ kind: "insert", position: 2, text: owned("b", 200).text }]);
  });

  it("never touches foreign rules or other owners' rules", () => {
    const above = foreign("-s 198.51.100.1/32 -j ACCEPT");
    const live = [owned("other", 100), above, owned("a"), foreign("-j DROP"), RETURN];
    const plan = planChain(state(live), [change("a", [])]);
    expect(plan.operations).toEqual([{ kind: "delete", text: owned("a").text, reason: "not desired" }]);
    expect(plan.result).toEqual([owned("other", 100), above, foreign("-j DROP"), RETURN]);
  });

  it("replaces an altered rule, and removes duplicates", () => {
    const altered = owned("a", 500, 0, "10.9.9.9/32");
    const plan = planChain(state([owned("a"), owned("a"), altered, RETURN]), [change("a", [owned("a")])]);
    expect(plan.operations.map((o) => [o.kind, "reason" in o ? o.reason : ""])).toEqual([
      ["delete", "duplicate"],
      ["delete", "not desired"],
    ]);
    expect(plan.result).toEqual([owned("a"), RETURN]);
  });

  it("moves our rule above a foreign rule inserted ahead of it; the foreign rule keeps its order", () => {
    const intruder = foreign("-s 203.0.113.9/32 -j ACCEPT");
    const plan = planChain(state([intruder, owned("a"), RETURN]), [change("a", [owned("a")])]);
    expect(plan.operations).toEqual([
      { kind: "delete", text: owned("a").text, reason: "out of place", below: intruder.text },
      { kind: "insert", position: 1, text: owned("a").text },
    ]);
    expect(plan.result).toEqual([owned("a"), intruder, RETURN]);
  });

  it("a later rule is out of place below a foreign rule too, when only changing owners' rules lie between (so one plan of every owner moves them all)", () => {
    const intruder = foreign("-s 203.0.113.9/32 -j ACCEPT");
    const [a, b] = [owned("a", 100), owned("b", 200)];
    // b alone: a, which is not changing, pins b below the intruder.
    expect(planChain(state([intruder, a, b, RETURN]), [change("b", [b])]).operations).toEqual([]);
    // a and b together: both move above it, in order.
    const both = planChain(state([intruder, a, b, RETURN]), [change("a", [a]), change("b", [b])]);
    expect(both.operations.filter((o) => o.kind === "delete")).toEqual([
      { kind: "delete", text: a.text, reason: "out of place", below: intruder.text },
      { kind: "delete", text: b.text, reason: "out of place", below: intruder.text },
    ]);
    expect(both.result).toEqual([a, b, intruder, RETURN]);
  });

  it("keeps a resource's own rules in index order", () => {
    const rules = [owned("a", 500, 0, "10.0.0.1/32"), owned("a", 500, 1, "10.0.0.2/32"), owned("a", 500, 2, "10.0.0.3/32")];
    const plan = planChain(state([RETURN]), [change("a", [rules[2], rules[0], rules[1]])]);
    expect(plan.result.slice(0, 3)).toEqual(rules);
  });

  it("converges from any arrangement: applying the plan leaves nothing to plan, in order, foreign rules untouched", () => {
    let seed = 42;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    const pool = ["a", "b", "c", "d", "e"].map((n, i) => owned(n, (i * 37) % 3 * 100));
    const foreigners = [foreign("-s 192.0.2.1/32 -j ACCEPT"), foreign("-i eth9 -j DROP"), RETURN];
    for (let round = 0; round < 300; round++) {
      const live: LiveRule[] = [];
      for (let i = random(9); i > 0; i--) live.push(random(2) ? pool[random(pool.length)] : foreigners[random(foreigners.length)]);
      const changes = pool.filter(() => random(2)).map((r) => change(r.tag.name, random(4) ? [r] : []));
      const save = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":DOCKER-USER - [0:0]", "-A FORWARD -j DOCKER-USER", ...live.map((r) => r.text), "COMMIT", ""].join("\n");
      const plan = planChain(chainState(parseSave(save), "DOCKER-USER"), changes);
      const after = applyRestore(parseSave(save), restoreInput(plan.operations));
      const afterState = chainState(after, "DOCKER-USER");
      expect(afterState.rules).toEqual(plan.result);
      expect(planChain(afterState, changes).operations).toEqual([]);
      const foreignBefore = live.filter((r) => !r.tag || !changes.some((c) => c.owner === r.tag!.owner));
      expect(afterState.rules.filter((r) => !r.tag || !changes.some((c) => c.owner === r.tag!.owner)).map((r) => r.text)).toEqual(foreignBefore.map((r) => r.text));
      for (const c of changes) expect(afterState.rules.filter((r) => r.tag?.owner === c.owner).map((r) => r.text)).toEqual(c.rules.map((r) => r.text));
      expect(renderSave(after)).toContain("-A FORWARD -j DOCKER-USER");
    }
  });
});
