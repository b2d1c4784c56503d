import * as fs from "node:fs";
import * as path from "node:path";
import { DOCKER_RETURN, DOCKER_USER } from "../../provider/docker/layout";
import { FAMILIES, type Family } from "../../provider/family";
import { applyCommand } from "../../provider/host-scripts";
import { HostSession } from "../../provider/host-session";
import type { ExecOptions, ExecResult, Host } from "../../provider/host/host";
import { backendSuffix, type Backend } from "../../provider/iptables/backend";
import { compareTags } from "../../provider/ownership";
import { compiledPath } from "../support/compiled";
import { runJsonWorker } from "../support/json-worker";
import { Netns } from "../support/netns";
import { runStack, stackChange, type StackOutcome, type WorkerInput } from "./two-stacks-worker";

/*
 * Two stacks, one host: two sessions (as two Pulumi processes would hold),
 * in one process and in two node processes, each create 50 rules against
 * one namespace, the calls spaced 0 to 100 ms apart. No create fails, no
 * rule is doubled, and every rule of both stacks stands in priority order;
 * a transaction that conflicts retries once, with the turn its conflict
 * reserved.
 */

const BACKENDS: readonly Exclude<Backend, "auto">[] = ["nft", "legacy"];
const SPACINGS_MS = [0, 5, 20, 50, 100];
const COUNT = 50;
const FIXTURES = path.join(__dirname, "../fixtures/docker-20.10");
const DOCKER: Record<Family, string> = {
  ipv4: fs.readFileSync(path.join(FIXTURES, "ipv6-02-published-8080.v4.txt"), "utf8"),
  // IPv6 that Docker does not manage (its default before 27), with one rule of the admin's: our DOCKER-USER and jump go in its filter table.
  ipv6: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
};

/** Figures for the report: one line per run. */
const figures: string[] = [];
afterAll(() => console.log(`two stacks, ${COUNT} creates each:\n${figures.join("\n")}`));

/** Counts the apply commands a session runs, how many found the firewall changed, and the longest run of those in a row (one transaction's retries). */
class CountingHost implements Host {
  applies = 0;
  conflicts = 0;
  longestStreak = 0;
  private streak = 0;

  constructor(private readonly ns: Netns) {}

  get name(): string {
    return this.ns.name;
  }

  async exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    const result = await this.ns.exec(argv, options);
    if (argv[2] === applyCommand("auto", { ipv4: "", ipv6: "" }).argv[2]) {
      this.applies += 1;
      this.streak = result.code === 0 ? 0 : this.streak + 1;
      this.conflicts += result.code === 0 ? 0 : 1;
      this.longestStreak = Math.max(this.longestStreak, this.streak);
    }
    return result;
  }

  readFile(p: string): Promise<string | undefined> {
    return this.ns.readFile(p);
  }

  writeFile(p: string, content: string): Promise<void> {
    return this.ns.writeFile(p, content);
  }

  async close(): Promise<void> {}
}

async function withDockerNamespace(backend: Backend, body: (ns: Netns) => Promise<void>): Promise<void> {
  const ns = await Netns.create(`ts${backend.slice(0, 3)}`);
  try {
    for (const family of FAMILIES) await ns.run([`ip${family === "ipv4" ? "" : "6"}tables${backendSuffix(backend)}-restore`], { stdin: DOCKER[family] });
    await body(ns);
  } finally {
    await ns.delete();
  }
}

/** Every rule of both stacks is in DOCKER-USER once, in priority order, above Docker's RETURN (in the filter table, or in mangle where Docker does not jump to DOCKER-USER: ipv6 here). */
async function expectBothStacks(ns: Netns, backend: Backend): Promise<void> {
  for (const family of FAMILIES) {
    const saved = await ns.run([`ip${family === "ipv4" ? "" : "6"}tables${backendSuffix(backend)}-save`]);
    const chain = saved.split("\n").filter((l) => l.startsWith(`-A ${DOCKER_USER} `));
    const expected = ["a", "b"].flatMap((s) => Array.from({ length: COUNT }, (_, i) => stackChange(s, i).rules[family])).flat();
    expected.sort((x, y) => compareTags(x.tag, y.tag));
    expect(chain).toEqual([...expected.map((r) => r.text), ...(family === "ipv4" ? [DOCKER_RETURN] : [])]);
  }
}

const summary = (outcomes: readonly StackOutcome[]) => `failures ${outcomes.map((o) => o.failures.length).join("+")}, ${Math.max(...outcomes.map((o) => o.ms))} ms`;

describe.each(BACKENDS)("two stacks on one host (%s)", (backend) => {
  test.each(SPACINGS_MS)("two sessions in one process, calls %i ms apart: no failure, no duplicate, all in order", async (spacing) => {
    await withDockerNamespace(backend, async (ns) => {
      const hosts = [new CountingHost(ns), new CountingHost(ns)];
      const outcomes = await Promise.all(["a", "b"].map((stack, i) => runStack(new HostSession(hosts[i], backend), stack, COUNT, spacing)));
      figures.push(`${backend} in-process ${spacing} ms: ${summary(outcomes)}, applies ${hosts.map((h) => h.applies).join("+")}, conflicts ${hosts.map((h) => h.conflicts).join("+")}, longest run of conflicts ${Math.max(...hosts.map((h) => h.longestStreak))}`);
      expect(outcomes.flatMap((o) => o.failures)).toEqual([]);
      await expectBothStacks(ns, backend);
      // The turn a conflict reserves: a retry never conflicts again.
      expect(Math.max(...hosts.map((h) => h.longestStreak))).toBeLessThanOrEqual(1);
    });
  });
});

describe("two stacks on one host, two node processes (nft)", () => {
  test.each(SPACINGS_MS)("calls %i ms apart: no failure, no duplicate, all in order", async (spacing) => {
    const script = compiledPath("test/real/two-stacks-worker.js");
    await withDockerNamespace("nft", async (ns) => {
      const outcomes = await Promise.all(["a", "b"].map((stack) => runWorker(script, { namespace: ns.name, backend: "nft", stack, count: COUNT, spacingMs: spacing })));
      figures.push(`nft two processes ${spacing} ms: ${summary(outcomes)}`);
      expect(outcomes.flatMap((o) => o.failures)).toEqual([]);
      await expectBothStacks(ns, "nft");
    });
  });
});

/** Runs the compiled worker as its own node process, the input on stdin. */
function runWorker(script: string, input: WorkerInput): Promise<StackOutcome> {
  return runJsonWorker<StackOutcome>(script, input, input.stack);
}
