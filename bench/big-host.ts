import { DOCKER_USER } from "../provider/docker/layout";
import { HostSession } from "../provider/host-session";
import { generateBigHost } from "../provider/testing/generate-big-host";
import { Netns } from "../test/support/netns";
import { CountingHost } from "./counting-host";
import { formatCount, formatMs, median, timed, type Row } from "./report";
import { ownedRules } from "./rules";
import type { PerRuleBackend } from "./transaction-vs-per-rule";

/** Rules in the filter table besides DOCKER-USER's: a Kubernetes node's. */
const FILTER_RULES = 50_000;
/** Foreign rules in DOCKER-USER. */
const DOCKER_USER_RULES = 20_000;
/** Runs per figure; the median is reported. */
const RUNS = 3;
/** iptables on a host this big needs more than the default 30 s on a loaded machine. */
const TIMEOUT_MS = 300_000;

/**
 * A create, a read and a delete of one rule through the engine on a big
 * host (a Kubernetes node with 50,000 filter rules and 20,000 foreign
 * DOCKER-USER rules), each beside its floor on that host: one
 * `iptables-save` plus one `iptables-restore --test` of what it printed.
 * Each figure is the median of a few runs, in a namespace of its own.
 */
export async function bigHost(backend: PerRuleBackend): Promise<Row[]> {
  const text = generateBigHost({ filterRules: FILTER_RULES, dockerUserRules: DOCKER_USER_RULES });
  const ns = await Netns.create(`big-${backend}`);
  try {
    await ns.run([`iptables-${backend}-restore`], { stdin: text, timeoutMs: TIMEOUT_MS });
    const userChain = await chainLength(ns, backend);
    if (userChain !== DOCKER_USER_RULES + 1) throw new Error(`sanity: DOCKER-USER holds ${userChain} rules, expected ${DOCKER_USER_RULES + 1}`);

    const baseline: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const { ms } = await timed(async () => {
        const saved = await ns.run([`iptables-${backend}-save`], { timeoutMs: TIMEOUT_MS });
        await ns.run([`iptables-${backend}-restore`, "--test"], { stdin: saved, timeoutMs: TIMEOUT_MS });
      });
      baseline.push(ms);
    }

    const { owner, rule } = ownedRules(1)[0];
    const host = new CountingHost(ns);
    const session = new HostSession(host, backend);
    const times = { read: [] as number[], create: [] as number[], delete: [] as number[] };
    const commands = { read: 0, create: 0, delete: 0 };
    for (let i = 0; i < RUNS; i++) {
      for (const [step, run] of [
        ["read", (): Promise<unknown> => session.read()],
        ["create", () => session.apply({ owner, rules: { ipv4: [rule], ipv6: [] } })],
        ["delete", () => session.apply({ owner, rules: { ipv4: [], ipv6: [] } })],
      ] as const) {
        const before = host.execCount;
        times[step].push((await timed(run)).ms);
        commands[step] = host.execCount - before;
        const expected = step === "create" ? DOCKER_USER_RULES + 2 : DOCKER_USER_RULES + 1;
        if ((await chainLength(ns, backend)) !== expected) throw new Error(`sanity: after the ${step}, DOCKER-USER does not hold ${formatCount(expected)} rules`);
      }
    }

    const floor = median(baseline);
    const row = (step: keyof typeof times): Row => ({
      benchmark: `big host ${step} (${backend})`,
      value: formatMs(median(times[step])),
      note: `${(median(times[step]) / floor).toFixed(1)}× the baseline; ${commands[step]} host command${commands[step] === 1 ? "" : "s"}`,
    });
    return [
      {
        benchmark: `big host baseline: iptables-save + restore --test (${backend})`,
        value: formatMs(floor),
        note: `${formatCount(FILTER_RULES)} filter rules + ${formatCount(DOCKER_USER_RULES)} foreign DOCKER-USER rules, ${(text.length / 2 ** 20).toFixed(1)} MB saved`,
      },
      row("read"),
      row("create"),
      row("delete"),
    ];
  } finally {
    await ns.delete();
  }
}

/** How many rules the namespace's DOCKER-USER holds (listed alone: cheaper than a save with nf_tables). */
async function chainLength(ns: Netns, backend: PerRuleBackend): Promise<number> {
  const listed = await ns.run([`iptables-${backend}`, "-w", "-S", DOCKER_USER], { timeoutMs: TIMEOUT_MS });
  return listed.split("\n").filter((l) => l.startsWith(`-A ${DOCKER_USER} `)).length;
}
