import type { Connection } from "../../provider/connection";
import { HostError } from "../../provider/errors";
import { dialSettings, dialTimeLimitMs, SshHost, type SshHostOptions } from "../../provider/host/ssh-host";
import { startSshd, type Sshd } from "../support/sshd";

/**
 * The SSH transport when the network goes away: the network is cut by DROP
 * rules for sshd's port inside the test sshd's own namespace (never the root
 * namespace's firewall), so packets vanish without any error, as when a
 * cable is pulled or a firewall drops them.
 */

let sshd: Sshd;
let networkCut = false;
const hosts: SshHost[] = [];

/** Keepalive every 250 ms, lost after 3 × 250 ms without an answer. */
const QUICK_KEEPALIVE: SshHostOptions = { keepaliveIntervalMs: 250, keepaliveCountMax: 2 };
const KEEPALIVE_WINDOW_MS = 750;
/** Two attempts of 1 s and a 0.2 s pause between them. */
const QUICK_DIAL = { dialErrorLimit: 2, perDialTimeout: 1 } satisfies Partial<Connection>;
const QUICK_DIAL_LIMIT_MS = 2200;
/** Timers, scheduling and the round trips of two test hosts. */
const SLACK_MS = 1000;

beforeAll(async () => {
  sshd = await startSshd();
});

afterEach(async () => {
  if (networkCut) await restoreNetwork();
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

afterAll(async () => {
  await sshd?.stop();
});

/** An SshHost for the test sshd with quick keepalive and dialling, closed after the test. */
function connect(overrides: Partial<Connection> = {}): SshHost {
  const host = new SshHost({ host: sshd.address, port: sshd.port, privateKey: sshd.privateKey, ...QUICK_DIAL, ...overrides }, QUICK_KEEPALIVE);
  hosts.push(host);
  return host;
}

/** The DROP rules that cut sshd off: what reaches its port, and what it sends back. */
const CUT_RULES = [
  ["INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP"],
  ["OUTPUT", "-p", "tcp", "--sport", "22", "-j", "DROP"],
];

async function cutNetwork(): Promise<void> {
  networkCut = true;
  for (const rule of CUT_RULES) await sshd.ns.run(["iptables", "-w", "5", "-I", ...rule]);
}

async function restoreNetwork(): Promise<void> {
  for (const rule of CUT_RULES) await sshd.ns.run(["iptables", "-w", "5", "-D", ...rule]);
  networkCut = false;
}

/** What `promise` rejected with and how long that took, failing when it resolves. */
async function timedFailure(promise: Promise<unknown>, started = performance.now()): Promise<{ err: Error; ms: number }> {
  try {
    await promise;
  } catch (err) {
    return { err: err as Error, ms: performance.now() - started };
  }
  throw new Error("expected a rejection");
}

/** The client-side TCP port of the connection a command ran on. */
async function clientPort(host: SshHost): Promise<string> {
  const { stdout } = await host.exec(["sh", "-c", 'set -- $SSH_CLIENT; echo "$2"']);
  return stdout.trim();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("SshHost when the network is cut", () => {
  it("keeps a healthy connection through a command that outlasts the keepalive window", async () => {
    const host = connect();
    expect((await host.exec(["sh", "-c", "sleep 1.5; echo done"])).stdout).toBe("done\n");
  });

  it("fails a command in flight within the keepalive window, naming the host and the lost connection; works again once the network is back", async () => {
    const host = connect();
    await host.exec(["true"]);
    const running = host.exec(["sleep", "30"], { timeoutMs: 60_000 });
    await sleep(200);
    await cutNetwork();
    const { err, ms } = await timedFailure(running);
    console.log(`cut network → command in flight failed after ${ms.toFixed(0)} ms (keepalive window ${KEEPALIVE_WINDOW_MS} ms)`);
    expect(ms).toBeLessThan(KEEPALIVE_WINDOW_MS + 250 + SLACK_MS);
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(
      `${host.name}: the connection was lost while \`sleep\` ran (no answer to keepalives for 0.75 s); it may or may not have taken effect`,
    );

    // Still cut: the next command gives up once dialling has, naming the host.
    const next = await timedFailure(host.exec(["true"]));
    console.log(`cut network → next command failed after ${next.ms.toFixed(0)} ms (dial limit ${QUICK_DIAL_LIMIT_MS} ms)`);
    expect(next.ms).toBeLessThan(QUICK_DIAL_LIMIT_MS + SLACK_MS);
    expect(next.err.message).toBe(`${host.name}: cannot reach the SSH server: no SSH handshake within 1 s (after 2 attempts)`);

    await restoreNetwork();
    expect((await host.exec(["echo", "back"])).stdout).toBe("back\n");
  });

  it("after a cut while idle, the next command fails within keepalive window + dial limit instead of hanging, and the one after the network returns succeeds", async () => {
    const host = connect();
    await host.exec(["true"]);
    await cutNetwork();
    const { err, ms } = await timedFailure(host.exec(["true"]));
    console.log(`idle connection, cut network → next command failed after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(KEEPALIVE_WINDOW_MS + 250 + QUICK_DIAL_LIMIT_MS + SLACK_MS);
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${host.name}: cannot reach the SSH server: no SSH handshake within 1 s (after 2 attempts)`);
    await restoreNetwork();
    expect((await host.exec(["echo", "back"])).stdout).toBe("back\n");
  });

  it("a command sent during a short cut succeeds once the network is back, on a new connection", async () => {
    const host = connect({ dialErrorLimit: 3, perDialTimeout: 2 });
    const before = await clientPort(host);
    await cutNetwork();
    const started = performance.now();
    const after = clientPort(host);
    await sleep(1500);
    await restoreNetwork();
    expect(await after).not.toBe(before);
    expect(performance.now() - started).toBeLessThan(dialTimeLimitMs(dialSettings({ host: sshd.address, dialErrorLimit: 3, perDialTimeout: 2 }, {})));
  });

  it("an unreachable host (every packet dropped) fails within the dial limit, naming the host", async () => {
    await cutNetwork();
    const connection = { host: sshd.address, ...QUICK_DIAL };
    expect(dialTimeLimitMs(dialSettings(connection, {}))).toBe(QUICK_DIAL_LIMIT_MS);
    const host = connect();
    const { err, ms } = await timedFailure(host.exec(["true"]));
    console.log(`unreachable host, dialErrorLimit 2, perDialTimeout 1 → failed after ${ms.toFixed(0)} ms (limit ${QUICK_DIAL_LIMIT_MS} ms)`);
    expect(ms).toBeGreaterThanOrEqual(2000); // both attempts ran out their perDialTimeout
    expect(ms).toBeLessThan(QUICK_DIAL_LIMIT_MS + SLACK_MS);
    expect(err.message).toBe(`root@${sshd.address}:22: cannot reach the SSH server: no SSH handshake within 1 s (after 2 attempts)`);
  });

  it("close() on a dead connection returns within about a second and fails the command still running", async () => {
    const host = connect();
    await host.exec(["true"]);
    const running = host.exec(["sleep", "30"]);
    await sleep(200);
    await cutNetwork();
    const started = performance.now();
    await host.close();
    expect(performance.now() - started).toBeLessThan(1000 + SLACK_MS);
    const { err } = await timedFailure(running);
    expect(err.message).toBe(`${host.name}: the connection was lost while \`sleep\` ran (this host was closed); it may or may not have taken effect`);
  });

  it("close() while connecting to an unreachable host stops the dialling at once", async () => {
    await cutNetwork();
    const host = connect({ dialErrorLimit: 10, perDialTimeout: 15 });
    const started = performance.now();
    const dialling = timedFailure(host.exec(["true"]), started);
    await sleep(300);
    await host.close();
    const { err, ms } = await dialling;
    expect(ms).toBeLessThan(300 + SLACK_MS);
    expect(err.message).toBe(`${host.name}: this host was closed and can no longer run commands`);
  });
});
