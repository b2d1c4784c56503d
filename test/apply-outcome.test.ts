import { readFileSync } from "node:fs";
import { join } from "node:path";
import { familyOutcome } from "../provider/apply-outcome";
import { planFamily } from "../provider/host-session";
import { restoreInput } from "../provider/iptables/restore-script";
import { parseSave, type Ruleset } from "../provider/iptables/ruleset";
import { formatTag, parseTag } from "../provider/ownership";
import type { OwnedRule } from "../provider/planner";
import { applyRestore } from "../provider/testing/fake-host";

const V4 = parseSave(readFileSync(join(__dirname, "fixtures/docker-20.10/02-published-8080.v4.txt"), "utf8"));

function rule(name: string, priority = 500): OwnedRule {
  const comment = formatTag({ owner: `p/s/rule/${name}`, priority, index: 0 });
  return { text: `-A DOCKER-USER -s 10.0.0.${priority % 250}/32 -m comment --comment "${comment}" -j DROP`, tag: parseTag(comment)! };
}
const apply = (ruleset: Ruleset, input: string) => applyRestore(ruleset, input, {}, true);
const FOREIGN = "*filter\n-I DOCKER-USER 1 -s 192.0.2.9/32 -j ACCEPT\nCOMMIT\n";

describe("familyOutcome", () => {
  const before = apply(V4, restoreInput(planFamily(V4, [{ owner: "p/s/rule/a", rules: [rule("a", 100)] }])));
  const operations = planFamily(before, [
    { owner: "p/s/rule/a", rules: [] },
    { owner: "p/s/rule/b", rules: [rule("b", 200)] },
    { owner: "p/s/rule/c", rules: [rule("c", 300)] },
  ]);
  const after = apply(before, restoreInput(operations));

  it("tells applied, not applied and partly applied apart", () => {
    expect(familyOutcome(before, operations, after)).toBe("applied");
    expect(familyOutcome(before, operations, before)).toBe("not applied");
    expect(familyOutcome(before, operations, apply(before, restoreInput(operations.slice(0, 2))))).toBe("partly applied");
  });

  it("is not misled by rules others added or removed meanwhile", () => {
    expect(familyOutcome(before, operations, apply(after, FOREIGN))).toBe("applied");
    expect(familyOutcome(before, operations, apply(before, FOREIGN))).toBe("not applied");
    const withoutReturn = "*filter\n-D DOCKER-USER -j RETURN\nCOMMIT\n";
    expect(familyOutcome(before, operations, apply(after, withoutReturn))).toBe("applied");
    expect(familyOutcome(before, operations, apply(before, withoutReturn))).toBe("not applied");
  });

  it("sees a jump moved back up, and a rule moved among the others", () => {
    const low = apply(V4, "*filter\n-D FORWARD -j DOCKER-USER\n-I FORWARD 3 -j DOCKER-USER\nCOMMIT\n");
    const raise = planFamily(low, [{ owner: "p/s/rule/a", rules: [rule("a")] }]);
    expect(raise.map((op) => op.kind)).toEqual(["raise-jump", "insert"]);
    expect(familyOutcome(low, raise, apply(low, restoreInput(raise)))).toBe("applied");
    expect(familyOutcome(low, raise, apply(low, restoreInput(raise.slice(1))))).toBe("partly applied");
  });
});
