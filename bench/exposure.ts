import { NO_NFT } from "../provider/nft-state";
import { performance } from "node:perf_hooks";
import { canReach } from "../provider/exposure/can-reach";
import { exposure } from "../provider/exposure/exposure";
import type { Snapshot } from "../provider/host-session";
import { EMPTY_RULESET, parseSave } from "../provider/iptables/ruleset";
import { generateBigHost } from "../provider/testing/generate-big-host";
import { formatCount, formatMs, medianMs, type Row } from "./report";

/** The generated host: 50,000 rules, 20,000 of them foreign DOCKER-USER rules. */
const SIZE = { filterRules: 30_000, dockerUserRules: 20_000 } as const;
/** Runs per figure; the median is reported. */
const RUNS = 7;
/** The targets the issue sets. */
const TARGETS = { canReach: 100, report: 1000 } as const;

/**
 * The exposure evaluator on a 50,000-rule host (Docker plus Kubernetes-style
 * policy chains, 20,000 foreign DOCKER-USER allowlist rules for other ports): one `can-reach` and the
 * full report, each on a freshly parsed ruleset (rules are compiled on first
 * use, so this is what the CLI pays) and again on a warm one, beside the
 * time of parsing the host.
 */
export function exposureOnBigHost(): Row[] {
  const text = generateBigHost(SIZE);
  const rules = text.split("\n").filter((l) => l.startsWith("-A ")).length;
  const snapshotOf = (): Snapshot => ({ ipv4: parseSave(text), ipv6: EMPTY_RULESET, fingerprints: { ipv4: "", ipv6: "" }, unavailable: [], listeners: [], nft: NO_NFT });
  const parseMs = medianMs(RUNS, snapshotOf);
  const question = { from: "203.0.113.7", port: 8080 } as const;

  const cold = (fn: (s: Snapshot) => unknown) => {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const snapshot = snapshotOf();
      const start = performance.now();
      fn(snapshot);
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[RUNS >> 1];
  };
  const canReachCold = cold((s) => canReach(s, question));
  const reportCold = cold((s) => exposure(s));
  const warm = snapshotOf();
  const answer = canReach(warm, question);
  if (answer.reachable !== true || answer.path !== "forward") throw new Error(`sanity: port 8080 of the generated host should be reachable by forward, got ${JSON.stringify(answer)}`);
  const report = exposure(warm);
  if (report.length !== 1 || report[0].port !== 8080) throw new Error("sanity: the generated host publishes one port, 8080");
  const canReachWarm = medianMs(RUNS, () => canReach(warm, question));
  const reportWarm = medianMs(RUNS, () => exposure(warm));
  const verdict = (ms: number, target: number) => `${ms <= target ? "within" : "OVER"} the ${formatMs(target)} target`;
  return [
    { benchmark: `exposure: parse the ${formatCount(rules)}-rule host (median)`, value: formatMs(parseMs), note: "what every figure below comes after" },
    { benchmark: `exposure: can-reach, freshly parsed (median)`, value: formatMs(canReachCold), note: `${verdict(canReachCold, TARGETS.canReach)}; compiles the rules it visits` },
    { benchmark: `exposure: can-reach, again (median)`, value: formatMs(canReachWarm) },
    { benchmark: `exposure: full report, freshly parsed (median)`, value: formatMs(reportCold), note: `${verdict(reportCold, TARGETS.report)}; ${report[0].parts.length} parts` },
    { benchmark: `exposure: full report, again (median)`, value: formatMs(reportWarm) },
  ];
}
