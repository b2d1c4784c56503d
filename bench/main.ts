/**
 * `npm run bench`: measures the engine on this machine and prints a table.
 * Runs as root; works only in network namespaces it creates (and deletes,
 * also on failure or Ctrl-C); never touches this machine's own firewall.
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

/** The benchmarks, in the order they run. */
const BENCHMARKS: readonly { readonly title: string; readonly run: () => Row[] | Promise<Row[]> }[] = [
  { title: "parse and plan, 50,000 rules", run: parseAndPlan },
  { title: "exposure evaluator, 50,000 rules", run: exposureOnBigHost },
  { title: "500 rules, one transaction vs one process per rule (nft)", run: () => transactionVsPerRule("nft") },
  { title: "500 rules, one transaction vs one process per rule (legacy)", run: () => transactionVsPerRule("legacy") },
  { title: "100 resources over SSH (engine)", run: sshResources },
  { title: "100 resources over SSH (Pulumi provider host)", run: providerHostResources },
  { title: "500 resources via the Pulumi provider host vs one shell per-rule", run: providerHostVsPerRule },
  { title: "big host: create, read, delete vs iptables-save + restore --test (nft)", run: () => bigHost("nft") },
  { title: "big host: create, read, delete vs iptables-save + restore --test (legacy)", run: () => bigHost("legacy") },
];

async function main(): Promise<number> {
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
  for (const { title, run } of BENCHMARKS) {
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
