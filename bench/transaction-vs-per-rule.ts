import { DOCKER_USER } from "../provider/docker/layout";
import { HostSession } from "../provider/host-session";
import { tokenize } from "../provider/iptables/tokens";
import { Netns } from "../test/support/netns";
import { CountingHost } from "./counting-host";
import { formatCount, formatMs, formatRatio, timed, type Row } from "./report";
import { ownedRules } from "./rules";

/** Rules added by each side. */
const RULE_COUNT = 500;

/** The iptables variants compared; each has its own binaries. */
export type PerRuleBackend = "nft" | "legacy";

/**
 * 500 rules on a fresh namespace, twice: (a) through the engine, 500
 * concurrent `HostSession.apply` calls that group-commit into one
 * transaction; (b) as Ansible and Puppet do it, `iptables -C` then
 * `iptables -I` per rule, each its own process, one rule after another.
 * Each side gets its own namespace; both are deleted afterwards.
 */
export async function transactionVsPerRule(backend: PerRuleBackend): Promise<Row[]> {
  const rules = ownedRules(RULE_COUNT);

  const engine = await inFreshNamespace(`bench-${backend}`, async (ns) => {
    const host = new CountingHost(ns);
    const session = new HostSession(host, backend);
    const { ms } = await timed(() => Promise.all(rules.map(({ owner, rule }) => session.apply({ owner, rules: { ipv4: [rule], ipv6: [] } }))));
    await expectRules(ns, backend, RULE_COUNT);
    return { ms, commands: host.execCount };
  });

  const perRule = await inFreshNamespace(`bench-${backend}`, async (ns) => {
    const iptables = `iptables-${backend}`;
    let processes = 0;
    const { ms } = await timed(async () => {
      processes += 1;
      await ns.run([iptables, "-w", "-N", DOCKER_USER]);
      for (const { rule } of rules) {
        const spec = tokenize(rule.text).slice(2).map((t) => t.text);
        processes += 1;
        const check = await ns.exec([iptables, "-w", "-C", DOCKER_USER, ...spec]);
        if (check.code === 0) continue;
        if (check.code !== 1) throw new Error(`${iptables} -C exited with ${check.code}: ${check.stderr.trim()}`);
        processes += 1;
        await ns.run([iptables, "-w", "-I", DOCKER_USER, ...spec]);
      }
    });
    await expectRules(ns, backend, RULE_COUNT);
    return { ms, processes };
  });

  return [
    { benchmark: `${RULE_COUNT} rules, one transaction (${backend})`, value: formatMs(engine.ms), note: `${formatCount(engine.commands)} commands, ${RULE_COUNT} concurrent HostSession.apply` },
    {
      benchmark: `${RULE_COUNT} rules, iptables -C/-I per rule (${backend})`,
      value: formatMs(perRule.ms),
      note: `${formatCount(perRule.processes)} processes, ${formatRatio(perRule.ms, engine.ms)}`,
    },
  ];
}

/** Runs `fn` in a namespace of its own and deletes the namespace afterwards, also on failure. */
export async function inFreshNamespace<T>(label: string, fn: (ns: Netns) => Promise<T>): Promise<T> {
  const ns = await Netns.create(label);
  try {
    return await fn(ns);
  } finally {
    await ns.delete();
  }
}

/** Sanity: the namespace's DOCKER-USER really holds `count` rules. */
async function expectRules(ns: Netns, backend: PerRuleBackend, count: number): Promise<void> {
  const saved = await ns.run([`iptables-${backend}-save`, "-t", "filter"]);
  const found = saved.split("\n").filter((l) => l.startsWith(`-A ${DOCKER_USER} `)).length;
  if (found !== count) throw new Error(`sanity: expected ${count} rules in ${DOCKER_USER} (${backend}), found ${found}`);
}
