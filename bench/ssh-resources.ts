import type { Connection } from "../provider/connection";
import { SshHost } from "../provider/host/ssh-host";
import { dockerUserRule } from "../provider/resources/docker-user-rule-resource";
import type { Props } from "../provider/resources/rule-resource";
import { closeAllSessions, sessionFor, setHostFactory } from "../provider/sessions";
import { startSshd, type Sshd } from "../test/support/sshd";
import { formatMs, formatRatio, timed, type Row } from "./report";
import { BENCH_PROJECT, BENCH_STACK, ruleArgs } from "./rules";
import { commandsStarted } from "./sshd-log";

/** Resources created on each side. */
const RESOURCE_COUNT = 100;

/** The connection a benchmark resource uses to reach a test sshd. */
export function connectionTo(sshd: Sshd): Connection {
  return { host: sshd.address, port: sshd.port, privateKey: sshd.privateKey, hostKey: sshd.hostKey };
}

/**
 * Sanity: the firewall behind a test sshd holds exactly `count` of the
 * benchmark's rules in DOCKER-USER.
 */
export async function expectBenchRules(sshd: Sshd, count: number): Promise<void> {
  const saved = await sshd.ns.run(["iptables-save", "-t", "filter"]);
  const found = saved.split("\n").filter((l) => l.startsWith("-A DOCKER-USER ") && l.includes(`pdf:${BENCH_PROJECT}/${BENCH_STACK}/rule/`)).length;
  if (found !== count) throw new Error(`sanity: expected ${count} benchmark rules in DOCKER-USER behind ${sshd.address}, found ${found}`);
}

/**
 * 100 DockerUserRule resources over SSH through the engine's resource
 * lifecycle (`check` then `create`, as Pulumi calls them): all at once,
 * as Pulumi issues independent creates, then one at a time on a fresh
 * sshd. Counts the remote commands on the client (`SshHost.execCount`) and
 * checks the count against sshd's log.
 */
export async function sshResources(): Promise<Row[]> {
  // Every host here is reached over SSH; a missing connection must never fall back to this machine's firewall.
  setHostFactory((connection) => {
    if (!connection) throw new Error("benchmark: refusing to manage the local firewall");
    return new SshHost(connection);
  });
  try {
    const concurrent = await withSshd(async (sshd) => {
      const connection = connectionTo(sshd);
      const create = await timed(() => Promise.all(range(RESOURCE_COUNT).map((i) => createRule(i, connection))));
      await expectBenchRules(sshd, RESOURCE_COUNT);
      const execs = remoteExecs(sshd, connection, await commandsStarted(sshd));
      const remove = await timed(() => Promise.all(create.result.map(({ id, outs }) => dockerUserRule.delete(id, outs))));
      await expectBenchRules(sshd, 0);
      return { createMs: create.ms, execs, deleteMs: remove.ms, deleteExecs: remoteExecs(sshd, connection, await commandsStarted(sshd)) - execs };
    });
    const sequential = await withSshd(async (sshd) => {
      const connection = connectionTo(sshd);
      const { ms } = await timed(async () => {
        for (const i of range(RESOURCE_COUNT)) await createRule(i, connection);
      });
      await expectBenchRules(sshd, RESOURCE_COUNT);
      return { ms, execs: remoteExecs(sshd, connection, await commandsStarted(sshd)) };
    });
    return [
      {
        benchmark: `${RESOURCE_COUNT} resources over SSH, concurrent`,
        value: formatMs(concurrent.createMs),
        note: `${concurrent.execs} remote execs (includes the SSH connect)`,
      },
      {
        benchmark: `${RESOURCE_COUNT} resources over SSH, one at a time`,
        value: formatMs(sequential.ms),
        note: `${sequential.execs} remote execs, ${formatRatio(sequential.ms, concurrent.createMs)}`,
      },
      { benchmark: `${RESOURCE_COUNT} deletes over SSH, concurrent`, value: formatMs(concurrent.deleteMs), note: `${concurrent.deleteExecs} remote execs` },
    ];
  } finally {
    setHostFactory();
  }
}

/** Validates and creates benchmark rule `i` through the engine, as the dynamic provider would. */
async function createRule(i: number, connection: Connection): Promise<{ id: string; outs: Props }> {
  const { inputs, failures } = await dockerUserRule.check({}, { ...ruleArgs(i), connection });
  if (failures.length > 0) throw new Error(`check failed: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  return dockerUserRule.create(inputs);
}

/** The client's count of remote commands, after checking that sshd started as many. */
function remoteExecs(sshd: Sshd, connection: Connection, served: number): number {
  const host = sessionFor(connection).host;
  if (!(host instanceof SshHost)) throw new Error("benchmark: the session's host is not an SshHost");
  if (host.execCount !== served) throw new Error(`sanity: the client counted ${host.execCount} remote execs, sshd at ${sshd.address} started ${served}`);
  return host.execCount;
}

/** Starts a test sshd in a namespace of its own, runs `fn`, then closes every session and stops sshd, also on failure. */
async function withSshd<T>(fn: (sshd: Sshd) => Promise<T>): Promise<T> {
  const sshd = await startSshd();
  try {
    return await fn(sshd);
  } finally {
    await closeAllSessions();
    await sshd.stop();
  }
}

/** 1, 2, …, n. */
function range(n: number): number[] {
  return Array.from({ length: n }, (_, k) => k + 1);
}
