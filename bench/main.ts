/**
 * `npm run bench`: measures the engine on this machine and prints a table.
 * Runs as root; works only in network namespaces it creates (and deletes,
 * also on failure or Ctrl-C); never touches this machine's own firewall.
 *
 * Usage: `npm run bench [-- <id>...]`. With ids, runs only those
 * benchmarks (e.g. `npm run bench -- provider-host-vs-per-rule`); an unknown
 * id lists the known ones.
 */
import { closeAllSessions } from "../provider/sessions";
import { bigHost } from "./big-host";
import { exposureOnBigHost } from "./exposure";
import { parseAndPlan } from "./parse-and-plan";
import { providerHostResources } from "./provider-host-resources";
import { providerHostVsPerRule } from "./provider-host-vs-per-rule";
import { formatMs, printTable, timed, type Row } from "./report";
import { sshResources } from "./ssh-resources";
import { transactionVsPerRule } from "./transaction-vs-per-rule";

/** A benchmark: the id that selects it on the command line, its title, and what it measures. */
interface Benchmark {
  readonly id: string;
  readonly title: string;
  readonly run: () => Row[] | Promise<Row[]>;
}

/** The benchmarks, in the order they run. */
const BENCHMARKS: readonly Benchmark[] = [
  { id: "parse-and-plan", title: "parse and plan, 50,000 rules", run: parseAndPlan },
  { id: "exposure", title: "exposure evaluator, 50,000 rules", run: exposureOnBigHost },
  { id: "transaction-vs-per-rule-nft", title: "500 rules, one transaction vs one process per rule (nft)", run: () => transactionVsPerRule("nft") },
  { id: "transaction-vs-per-rule-legacy", title: "500 rules, one transaction vs one process per rule (legacy)", run: () => transactionVsPerRule("legacy") },
  { id: "ssh-resources", title: "100 resources over SSH (engine)", run: sshResources },
  { id: "provider-host-resources", title: "100 resources over SSH (Pulumi provider host)", run: providerHostResources },
  { id: "provider-host-vs-per-rule", title: "500 resources via the Pulumi provider host vs one shell per-rule", run: providerHostVsPerRule },
  { id: "big-host-nft", title: "big host: create, read, delete vs iptables-save + restore --test (nft)", run: () => bigHost("nft") },
  { id: "big-host-legacy", title: "big host: create, read, delete vs iptables-save + restore --test (legacy)", run: () => bigHost("legacy") },
];

/** The benchmarks the command line names (all of them when it names none), or an error that lists the known ids. */
function selected(ids: readonly string[]): readonly Benchmark[] | Error {
  const unknown = ids.filter((id) => !BENCHMARKS.some((b) => b.id === id));
  if (unknown.length > 0) return new Error(`unknown benchmark ${unknown.join(", ")}; known: ${BENCHMARKS.map((b) => b.id).join(", ")}`);
  return ids.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => ids.includes(b.id));
}

async function main(): Promise<number> {
  const benchmarks = selected(process.argv.slice(2));
  if (benchmarks instanceof Error) {
    console.error(benchmarks.message);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error("npm run bench must run as root: it creates network namespaces, runs iptables in them and starts sshd.");
    return 1;
  }
  // Exiting (rather than dying of the signal) runs the exit handlers that delete namespaces and stop sshd and the provider host.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: cleaning up`);
      process.exit(130);
    });
  }
  const rows: Row[] = [];
  let failed = 0;
  for (const { title, run } of benchmarks) {
    process.stderr.write(`${title} … `);
    try {
      const { result, ms } = await timed(async () => run());
      rows.push(...result);
      process.stderr.write(`${formatMs(ms)}\n`);
    } catch (error) {
      failed += 1;
      process.stderr.write(`failed\n${error instanceof Error ? error.stack : String(error)}\n`);
      rows.push({ benchmark: title, value: "failed", note: error instanceof Error ? error.message.split("\n")[0] : String(error) });
    }
  }
  await closeAllSessions();
  console.log();
  printTable(rows);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
