import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { chainState } from "../provider/chains";
import { parseSave, renderSave, type Ruleset } from "../provider/iptables/ruleset";
import { planChain, type OwnerChange } from "../provider/planner";
import { generateRuleset } from "../provider/testing/generate-ruleset";
import { formatCount, formatMs, medianMs, type Row } from "./report";
import { ownedRules } from "./rules";

/** Rules in the generated `iptables-save` text. */
const RULE_COUNT = 50_000;
/** Runs per figure; the median is reported. */
const RUNS = 7;

/** `gc()` without `--expose-gc` on the command line. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/**
 * Parse and plan on a large host: parses and renders a 50,000-rule
 * iptables-save (Docker plus Kubernetes-style service chains), reads
 * DOCKER-USER out of it and plans changes of 1 and 500 resources, each
 * timed as the median of several runs; also the heap the parsed ruleset
 * holds.
 */
export function parseAndPlan(): Row[] {
  const text = generateRuleset(RULE_COUNT);
  const lines = text.split("\n").filter((l) => l.startsWith("-A ")).length;

  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  let ruleset: Ruleset = parseSave(text);
  collectGarbage();
  const heapAfter = process.memoryUsage().heapUsed;

  const parseMs = medianMs(RUNS, () => (ruleset = parseSave(text)));
  let rendered = "";
  const renderMs = medianMs(RUNS, () => (rendered = renderSave(ruleset)));
  if (rendered !== text) throw new Error("sanity: renderSave(parseSave(text)) differs from the text");

  const state = chainState(ruleset, "DOCKER-USER");
  const stateMs = medianMs(RUNS, () => chainState(ruleset, "DOCKER-USER"));
  const one: OwnerChange[] = ownedRules(1).map(({ owner, rule }) => ({ owner, rules: [rule] }));
  const many: OwnerChange[] = ownedRules(500).map(({ owner, rule }) => ({ owner, rules: [rule] }));
  const oneMs = medianMs(RUNS, () => planChain(state, one));
  const plan = planChain(state, many);
  const manyMs = medianMs(RUNS, () => planChain(state, many));
  if (plan.operations.filter((op) => op.kind === "insert").length !== 500) throw new Error("sanity: the plan for 500 rules does not insert 500 rules");
  // The generated host has the chain and Docker's jump already, so the plan's result is all that changes.
  const applied = { ...state, rules: plan.result };
  const verifyMs = medianMs(RUNS, () => planChain(applied, many));
  if (planChain(applied, many).operations.length !== 0) throw new Error("sanity: planning again after the plan still finds work");

  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  return [
    { benchmark: `parse ${formatCount(RULE_COUNT)}-rule iptables-save (median)`, value: formatMs(parseMs), note: `${mb(text.length)} of text, ${formatCount(lines)} -A lines` },
    { benchmark: `heap held by the parsed ruleset`, value: mb(heapAfter - heapBefore), note: `heap used after parsing: ${mb(heapAfter)}` },
    { benchmark: `render it back (renderSave, median)`, value: formatMs(renderMs), note: "byte-identical" },
    { benchmark: `read DOCKER-USER (chainState, median)`, value: formatMs(stateMs) },
    { benchmark: `plan 1 new rule (planChain, median)`, value: formatMs(oneMs) },
    { benchmark: `plan 500 new rules, 500 owners (median)`, value: formatMs(manyMs) },
    { benchmark: `plan 500 rules already in place (verify)`, value: formatMs(verifyMs) },
  ];
}
