/**
 * The engine against a real sshd and real iptables, on the failure paths a
 * user meets first: no root, sudo with and without a password, iptables
 * missing, unreachable hosts, wrong host keys and bad private keys; then the
 * host-side lock under two independent connections (and two processes), and
 * the number of round trips per call.
 *
 * Every sshd (../support/sshd.ts) runs in its own network namespace, so
 * commands sent over SSH see that namespace's (initially empty) firewall:
 * - `sudoOk`: the REAL sudo with a sudoers file of the namespace's own that
 *   lets the test user run anything as root without a password;
 * - `sudoPw`: the real sudo, but the test user must type a password;
 * - `noSudo`: the real sudo, and the test user is not in sudoers at all;
 * - `noIptables`: sessions' PATH is /usr/bin:/bin (Debian 12 is merged-/usr:
 *   /bin is /usr/bin, iptables lives only in /usr/sbin).
 * /etc/sudoers and /etc/passwd of the machine are never touched:
 * `ip netns exec` bind-mounts /etc/netns/<ns>/{passwd,sudoers} over them for
 * sshd and its sessions only.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { inspect } from "node:util";
import type { Connection } from "../../provider/connection";
import { commentOf } from "../../provider/chains";
import { DOCKER_USER } from "../../provider/docker/layout";
import { HostError } from "../../provider/errors";
import type { Family } from "../../provider/family";
import { HOST_LOCK_PATH } from "../../provider/host-scripts";
import { HostSession } from "../../provider/host-session";
import { SshHost } from "../../provider/host/ssh-host";
import { compareTags, parseTag, type RuleTag } from "../../provider/ownership";
import { dockerUserRules } from "../../provider/resources/docker-user-rule";
import { dockerUserRule } from "../../provider/resources/docker-user-rule-resource";
import type { Props } from "../../provider/resources/rule-resource";
import { closeAllSessions, setHostFactory } from "../../provider/sessions";
import { tokenize } from "../../provider/iptables/tokens";
import { runJsonWorker } from "../support/json-worker";
import { run } from "../support/netns";
import { generateKey, startSshd, type KeyPair, type Sshd } from "../support/sshd";
import { applyMany, workerRule, type WorkerInput, type WorkerOutput } from "./remote-lock-worker";

const REPO = path.resolve(__dirname, "..", "..");
/** `Defaults !fqdn`: Debian's sudo is built --with-fqdn and would look the host name up in DNS. */
const SUDOERS_HEAD = "Defaults !fqdn\nroot ALL=(ALL:ALL) ALL\n";

let sudoOk: Sshd | undefined;
let sudoPw: Sshd | undefined;
let noSudo: Sshd | undefined;
let noIptables: Sshd | undefined;
let noIp6tables: Sshd | undefined;
let scratch: string | undefined;
/** The worker compiled from the current sources, or why it could not be. */
let worker: Promise<string>;
let otherKey: KeyPair;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "pdf-remote-errors-"));
  worker = compileWorker(scratch);
  worker.catch(() => undefined); // reported by the test that needs it, which awaits it
  // A PATH with IPv4's iptables tools only, as on a host where ip6tables is missing.
  const v4Only = path.join(scratch, "v4-only-bin");
  await mkdir(v4Only);
  for (const tool of ["iptables-save", "iptables-restore", "iptables-nft-save", "iptables-nft-restore", "iptables-legacy-save", "iptables-legacy-restore"]) {
    await symlink(`/usr/sbin/${tool}`, path.join(v4Only, tool));
  }
  const started = await Promise.allSettled([
    startSshd({ sudoers: `${SUDOERS_HEAD}pdftest ALL=(root) NOPASSWD: ALL\n` }),
    startSshd({ sudoers: `${SUDOERS_HEAD}pdftest ALL=(root) ALL\n` }),
    startSshd({ sudoers: SUDOERS_HEAD }),
    startSshd({ path: "/usr/bin:/bin" }),
    startSshd({ path: `${v4Only}:/usr/bin:/bin` }),
  ]);
  [sudoOk, sudoPw, noSudo, noIptables, noIp6tables] = started.map((s) => (s.status === "fulfilled" ? s.value : undefined));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  otherKey = await generateKey(scratch, "unauthorized");
}, 120_000);

afterEach(async () => {
  setHostFactory();
  await closeAllSessions();
});

afterAll(async () => {
  const steps: (() => Promise<unknown>)[] = [
    () => closeAllSessions(),
    ...[sudoOk, sudoPw, noSudo, noIptables, noIp6tables].map((s) => () => s?.stop() ?? Promise.resolve()),
    () => worker?.catch(() => undefined) ?? Promise.resolve(),
    () => (scratch ? rm(scratch, { recursive: true, force: true }) : Promise.resolve()),
  ];
  if (seen.length > 0) console.log(`errors as users see them:\n${seen.map((m) => `  ${m}`).join("\n")}`);
  const errors: unknown[] = [];
  for (const step of steps) await step().catch((error: unknown) => errors.push(error));
  if (errors.length > 0) throw new AggregateError(errors, "cleanup failed");
}, 120_000);

// ---------------------------------------------------------------- helpers

/** Root (key) on `sshd` unless overridden. */
function connectionTo(sshd: Sshd | undefined, overrides: Partial<Connection> = {}): Connection {
  if (!sshd) throw new Error("sshd did not start");
  return { host: sshd.address, port: sshd.port, privateKey: sshd.privateKey, ...overrides };
}

/** The test user (key login) on `sshd`. */
function asUser(sshd: Sshd | undefined, overrides: Partial<Connection> = {}): Connection {
  return connectionTo(sshd, { user: sshd?.user.name, ...overrides });
}

/** `user@address:port`, as the engine names the host. */
function hostName(connection: Connection): string {
  return `${connection.user ?? "root"}@${connection.host}:${connection.port ?? 22}`;
}

/** The inputs Pulumi would pass for a DockerUserRule dropping one original destination port. */
function ruleProps(owner: string, connection: Connection, port = 8080): Props {
  return { __owner: owner, connection, action: "DROP", protocol: "tcp", originalDestinationPort: port };
}

/** check, then create, as `pulumi up` does; check must pass. */
async function checkAndCreate(props: Props): Promise<{ id: string; outs: Props }> {
  const { inputs, failures } = await dockerUserRule.check({}, props);
  expect(failures).toEqual([]);
  return dockerUserRule.create(inputs);
}

/** Every error message the tests saw, printed at the end for reading. */
const seen: string[] = [];

/** Resolves with what `promise` rejected with, failing when it resolves. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    seen.push(`${(err as Error).name}: ${(err as Error).message}`);
    return err as Error;
  }
  throw new Error("expected a rejection");
}

/** Both families' rulesets inside sshd's namespace, without the `#` lines (timestamps). */
async function saved(sshd: Sshd | undefined): Promise<Record<Family, string>> {
  if (!sshd) throw new Error("sshd did not start");
  const strip = (text: string) =>
    text
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .map((l) => l.replace(/ \[\d+:\d+\]$/, ""))
      .join("\n");
  return { ipv4: strip(await sshd.ns.run(["iptables-save"])), ipv6: strip(await sshd.ns.run(["ip6tables-save"])) };
}

/** The tags of DOCKER-USER's rules inside sshd's namespace, in chain order (untagged rules as `undefined`). */
async function chainTags(sshd: Sshd | undefined): Promise<Record<Family, (RuleTag | undefined)[]>> {
  const rules = await saved(sshd);
  const tags = (text: string) =>
    text
      .split("\n")
      .filter((l) => l.startsWith(`-A ${DOCKER_USER} `))
      .map((l) => parseTag(commentOf(tokenize(l))));
  return { ipv4: tags(rules.ipv4), ipv6: tags(rules.ipv6) };
}

/** The error's message, stack, string, inspection and JSON: nowhere may a secret appear. */
function everyRendering(err: Error): string[] {
  return [err.message, err.stack ?? "", String(err), inspect(err, { depth: 10, showHidden: true }), JSON.stringify(err)];
}

/** Fails when the key text, or any line of its body, shows up in any rendering of the error. */
function expectNoKey(err: Error, privateKey: string): void {
  const lines = privateKey.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
  for (const text of everyRendering(err)) {
    expect(text).not.toContain(privateKey.trim());
    for (const line of lines) expect(text).not.toContain(line);
  }
}

/** Compiles the worker and what it imports from the current sources into `dir`; resolves the script's path. */
async function compileWorker(dir: string): Promise<string> {
  const out = path.join(dir, "worker");
  await run(
    [
      path.join(REPO, "node_modules", ".bin", "tsc"),
      ...["--outDir", out, "--rootDir", REPO, "--target", "ES2022", "--module", "commonjs", "--moduleResolution", "node"],
      ...["--esModuleInterop", "--skipLibCheck", "--strict", "--types", "node"],
      path.join(REPO, "test", "e2e", "remote-lock-worker.ts"),
    ],
    { timeoutMs: 60_000 },
  );
  return path.join(out, "test", "e2e", "remote-lock-worker.js");
}

/** Runs the compiled worker as its own node process, the input on stdin. */
function runWorker(script: string, input: WorkerInput): Promise<WorkerOutput> {
  return runJsonWorker<WorkerOutput>(script, input, input.stack, { ...process.env, NODE_PATH: path.join(REPO, "node_modules") });
}

/**
 * In both families: every owner of `stacks` (count each) is in DOCKER-USER
 * exactly once, and all our rules are in (priority, name, owner) order.
 */
async function expectAllOnceInOrder(sshd: Sshd | undefined, stacks: readonly string[], count: number): Promise<void> {
  const tags = await chainTags(sshd);
  for (const family of ["ipv4", "ipv6"] as const) {
    const ours = tags[family].filter((t): t is RuleTag => t !== undefined);
    const expected = stacks.flatMap((s) => Array.from({ length: count }, (_, i) => workerRule(s, i)));
    for (const { owner, priority } of expected) {
      const found = ours.filter((t) => t.owner === owner);
      expect({ family, owner, found: found.length }).toEqual({ family, owner, found: 1 });
      expect(found[0].priority).toBe(priority);
    }
    const sorted = [...ours].sort(compareTags);
    expect(ours.map((t) => t.owner)).toEqual(sorted.map((t) => t.owner));
  }
}

// ---------------------------------------------------------------- tests

describe("permissions", () => {
  it("a non-root user without sudo: HostError naming the host, saying root is needed and suggesting `sudo: true`; nothing changes", async () => {
    const connection = asUser(sudoOk);
    const before = await saved(sudoOk);
    const err = await failure(checkAndCreate(ruleProps("p/perm/rule/noroot", connection)));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${hostName(connection)}: \`iptables-save\` needs root; connect as root or set \`sudo: true\` in the connection`);
    expect(err.message).toContain(`pdftest@${sudoOk!.address}:22`);
    expect(await saved(sudoOk)).toEqual(before);

    // read (refresh) says the same
    const readErr = await failure(dockerUserRule.read("p/perm/rule/noroot", ruleProps("p/perm/rule/noroot", connection)));
    expect(readErr).toBeInstanceOf(HostError);
    expect(readErr.message).toBe(err.message);
  });

  it("the same user with `sudo: true` and a real NOPASSWD sudoers entry: create, read without drift, delete", async () => {
    const connection = asUser(sudoOk, { sudo: true });
    // the real sudo ran it (the stand-in is not on this sshd's PATH and would not set SUDO_USER)
    const probe = new SshHost(connection);
    try {
      expect((await probe.exec(["sh", "-c", 'echo "$(id -u) $SUDO_USER ${SUDO_STAND_IN:-real}"'])).stdout).toBe("0 pdftest real\n");
    } finally {
      await probe.close();
    }

    const owner = "p/perm/rule/viasudo";
    const props = ruleProps(owner, connection, 8081);
    const { id, outs } = await checkAndCreate(props);
    expect(id).toBe(owner);
    const tag = `pdf:${owner}:500:0`;
    const rules = await saved(sudoOk);
    for (const family of ["ipv4", "ipv6"] as const) {
      const lines = rules[family].split("\n").filter((l) => l.includes(tag));
      expect(lines).toEqual([`-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 8081 --ctdir ORIGINAL -m comment --comment "${tag}" -j DROP`]);
      expect(rules[family]).toMatch(/^-A FORWARD (.* )?-j DOCKER-USER$/m);
    }
    expect(outs.drift).toEqual([]);

    const read = await dockerUserRule.read(id, outs);
    expect(read.id).toBe(id);
    expect(read.props.drift).toEqual([]);
    expect(read.props.ruleText).toEqual(outs.ruleText);

    await dockerUserRule.delete(id, outs);
    const after = await saved(sudoOk);
    for (const family of ["ipv4", "ipv6"] as const) expect(after[family]).not.toContain(tag);
    expect((await dockerUserRule.read(id, outs)).id).toBe("");
  });

  it("`sudo: true` when sudo wants a password: says so and how to fix it (NOPASSWD or root)", async () => {
    const connection = asUser(sudoPw, { sudo: true });
    const before = await saved(sudoPw);
    const err = await failure(checkAndCreate(ruleProps("p/perm/rule/pw", connection)));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${hostName(connection)}: sudo asks for a password; allow this user passwordless sudo (NOPASSWD) or connect as root`);
    expect(await saved(sudoPw)).toEqual(before);
  });

  it("`sudo: true` for a user sudoers does not list at all: the same advice (sudo -n cannot tell the two apart)", async () => {
    const connection = asUser(noSudo, { sudo: true });
    const err = await failure(checkAndCreate(ruleProps("p/perm/rule/unlisted", connection)));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${hostName(connection)}: sudo asks for a password; allow this user passwordless sudo (NOPASSWD) or connect as root`);
  });

  it("iptables not installed (not on the sessions' PATH): says `iptables-save` is not installed", async () => {
    const connection = connectionTo(noIptables);
    const before = await saved(noIptables);
    const err = await failure(checkAndCreate(ruleProps("p/perm/rule/missing", connection)));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${hostName(connection)}: \`iptables-save\` is not installed; install it (Debian: apt-get install iptables) and retry`);
    expect(await saved(noIptables)).toEqual(before);
  });

  it("ip6tables missing: an IPv4 rule is created and read; a rule for both families says to set family ipv4", async () => {
    const connection = connectionTo(noIp6tables);
    const { id, outs } = await checkAndCreate({ ...ruleProps("p/perm/rule/v4", connection), family: "ipv4" });
    expect((await dockerUserRule.read(id, outs)).props.drift).toEqual([]);
    const err = await failure(checkAndCreate(ruleProps("p/perm/rule/both", connection)));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${hostName(connection)}: ip6tables cannot be used on this host (the family is disabled or the tool is missing); set \`family: "ipv4"\` to manage ipv4 only`);
    await dockerUserRule.delete(id, outs);
  });
});

describe("connection failures through dockerUserRule.create, after check", () => {
  it("nothing listening on the port: names the host and says the connection was refused", async () => {
    const connection = connectionTo(sudoOk, { port: 2, dialErrorLimit: 2 });
    const started = Date.now();
    const err = await failure(checkAndCreate(ruleProps("p/conn/rule/refused", connection)));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${hostName(connection)}: cannot reach the SSH server: connection refused (after 2 attempts)`);
    expectNoKey(err, sudoOk!.privateKey);
  });

  it("a port whose packets are silently dropped: names the host and gives up after dialErrorLimit × perDialTimeout", async () => {
    // This machine's outside network accepts every TCP connection (a proxy), so "no answer" is made
    // here: noIptables's namespace drops everything sent to port 2222.
    await noIptables!.ns.run(["iptables", "-I", "INPUT", "-p", "tcp", "--dport", "2222", "-j", "DROP"]);
    const connection = connectionTo(noIptables, { port: 2222, dialErrorLimit: 2, perDialTimeout: 1 });
    const started = Date.now();
    const err = await failure(checkAndCreate(ruleProps("p/conn/rule/blackhole", connection)));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(6000);
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${hostName(connection)}: cannot reach the SSH server: no SSH handshake within 1 s (after 2 attempts)`);
    expectNoKey(err, noIptables!.privateKey);
  });

  it("a server that closes the connection before the SSH banner (as sshd does past MaxStartups) is retried up to dialErrorLimit", async () => {
    // sshd drops connections beyond MaxStartups (default 10:30:100) right after accept, before it
    // sends its banner: a transient overload, which the engine itself calls transient when ssh2
    // reports it as a `close` ("the server closed the connection during the handshake").
    let accepted = 0;
    const server = createServer((socket: Socket) => {
      accepted += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const connection = connectionTo(sudoOk, { host: "127.0.0.1", port, dialErrorLimit: 3 });
      const err = await failure(checkAndCreate(ruleProps("p/conn/rule/dropped", connection)));
      expect(err).toBeInstanceOf(HostError);
      expect(err.message.startsWith(`${hostName(connection)}: `)).toBe(true);
      expect({ accepted, message: err.message }).toEqual({
        accepted: 3,
        message: `${hostName(connection)}: cannot reach the SSH server: the server closed the connection during the handshake (after 3 attempts)`,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a wrong hostKey: names the host, both fingerprints and the fix; nothing runs", async () => {
    const connection = connectionTo(sudoOk, { hostKey: otherKey.publicKey });
    const before = await saved(sudoOk);
    const err = await failure(checkAndCreate(ruleProps("p/conn/rule/hostkey", connection)));
    expect(err).toBeInstanceOf(HostError);
    const expected = (await run(["ssh-keygen", "-l", "-f", "-"], { stdin: otherKey.publicKey })).split(" ")[1];
    const actual = (await run(["ssh-keygen", "-l", "-f", "-"], { stdin: sudoOk!.hostKey })).split(" ")[1];
    expect(err.message).toBe(`${hostName(connection)}: host key mismatch: expected ${expected}, got ${actual}; if the server's key changed on purpose, update hostKey`);
    expectNoKey(err, sudoOk!.privateKey);
    expect(await saved(sudoOk)).toEqual(before);
  });

  it("a private key the server does not accept: authentication failed, check privateKey; the key never appears", async () => {
    const connection = connectionTo(sudoOk, { privateKey: otherKey.privateKey });
    const err = await failure(checkAndCreate(ruleProps("p/conn/rule/badkey", connection)));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${hostName(connection)}: authentication failed for user root: check privateKey`);
    expectNoKey(err, otherKey.privateKey);
  });

  it("a private key ssh2 cannot parse (passes check's PEM-header test): names the host; the key text never appears", async () => {
    const body = "c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3ODkwYWJjZGVmZ2hpamtsbW5vcA==";
    const privateKey = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`;
    const connection = connectionTo(sudoOk, { privateKey });
    const err = await failure(checkAndCreate(ruleProps("p/conn/rule/garbled", connection)));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message.startsWith(`${hostName(connection)}: `)).toBe(true);
    expect(err.message).toMatch(/privateKey|private key/i);
    expectNoKey(err, privateKey);
    for (const text of everyRendering(err)) expect(text).not.toContain(body);
  });

  it("…nor does any of its decoded content (ssh2 quotes the first bytes of what it decoded)", async () => {
    // The value given as privateKey may be some other secret pasted by mistake: no part of it may
    // be echoed, decoded or not. ssh2 says "Unsupported OpenSSH key magic: <first 15 decoded bytes>".
    const secret = "TOPSECRET-TOKEN-0123456789abcdef-not-a-key";
    const privateKey = `-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.from(secret).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----\n`;
    const connection = connectionTo(sudoOk, { privateKey });
    const err = await failure(checkAndCreate(ruleProps("p/conn/rule/pasted", connection)));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toMatch(/privateKey/);
    for (const text of everyRendering(err)) expect(text).not.toContain(secret.slice(0, 8));
  });

  it("an encrypted private key without privateKeyPassword: names the host and says what is missing; no key text", async () => {
    const encrypted = await generateKey(scratch!, "encrypted", "pass-phrase-xyz");
    const connection = connectionTo(sudoOk, { privateKey: encrypted.privateKey });
    const err = await failure(checkAndCreate(ruleProps("p/conn/rule/encrypted", connection)));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message.startsWith(`${hostName(connection)}: `)).toBe(true);
    expect(err.message).toMatch(/passphrase|privateKeyPassword/i);
    expectNoKey(err, encrypted.privateKey);
  });

  it("a resource's own hostKey is enforced even when another resource already connected to the same host", async () => {
    // Two resources of one program, same user@host:port, the second with a wrong pinned key:
    // the second must be refused, not ride on the first one's verified connection.
    await checkAndCreate(ruleProps("p/conn/rule/first", connectionTo(sudoOk), 8090));
    try {
      const err = await failure(checkAndCreate(ruleProps("p/conn/rule/second", connectionTo(sudoOk, { hostKey: otherKey.publicKey }), 8091)));
      expect(err).toBeInstanceOf(HostError);
      expect(err.message).toMatch(/host key mismatch/);
    } finally {
      await dockerUserRule.delete("p/conn/rule/first", ruleProps("p/conn/rule/first", connectionTo(sudoOk), 8090));
      await dockerUserRule.delete("p/conn/rule/second", ruleProps("p/conn/rule/second", connectionTo(sudoOk), 8091));
    }
  });
});

describe("the host-side lock", () => {
  const COUNT = 20;

  it("two independent connections (two stacks), 20 owners each at once: all 40 in DOCKER-USER once, in order", async () => {
    const connection = connectionTo(sudoOk);
    const [a, b] = await Promise.all([
      applyMany({ connection, stack: "stackA", count: COUNT }),
      applyMany({ connection, stack: "stackB", count: COUNT }),
    ]);
    expect(a.owners).toHaveLength(COUNT);
    expect(b.owners).toHaveLength(COUNT);
    console.log(`two in-process sessions, ${COUNT} owners each: ${a.execCount} and ${b.execCount} remote commands`);
    await expectAllOnceInOrder(sudoOk, ["stackA", "stackB"], COUNT);
  });

  it("two separate node processes, 20 owners each at once: all 40 in DOCKER-USER once, in order", async () => {
    const script = await worker;
    const connection = connectionTo(sudoOk);
    const [a, b] = await Promise.all([
      runWorker(script, { connection, stack: "procA", count: COUNT }),
      runWorker(script, { connection, stack: "procB", count: COUNT }),
    ]);
    expect(a.owners).toHaveLength(COUNT);
    expect(b.owners).toHaveLength(COUNT);
    console.log(`two processes, ${COUNT} owners each: ${a.execCount} and ${b.execCount} remote commands`);
    await expectAllOnceInOrder(sudoOk, ["stackA", "stackB", "procA", "procB"], COUNT);
  }, 120_000);

  it("an apply waits while another process holds the host lock, then succeeds", async () => {
    const HOLD_MS = 1500;
    // /run is not per namespace: the lock file the sessions over SSH use is the machine's own.
    const spawned = Date.now();
    const holder = spawn("flock", [HOST_LOCK_PATH, "sleep", String(HOLD_MS / 1000)], { stdio: "ignore" });
    const holderExit = new Promise<number | null>((resolve) => holder.once("exit", resolve));
    try {
      // wait until the holder has the lock: a non-blocking flock then fails
      for (let i = 0; (await run(["sh", "-c", `flock -n ${HOST_LOCK_PATH} true && echo free || echo held`])).trim() === "free"; i++) {
        if (i > 50) throw new Error("flock never took the lock");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const host = new SshHost(connectionTo(sudoOk));
      try {
        const session = new HostSession(host, "auto");
        await session.read(); // connected; reading takes no lock
        const owner = "p/lock/rule/waiter";
        await session.apply({ owner, rules: dockerUserRules({ __owner: owner, action: "DROP", protocol: "tcp", originalDestinationPort: 8100 }) });
        // the holder let go no earlier than HOLD_MS after it was spawned, and the apply finished after that
        expect(Date.now() - spawned).toBeGreaterThanOrEqual(HOLD_MS);
        expect(await holderExit).toBe(0);
        await session.apply({ owner, rules: { ipv4: [], ipv6: [] } });
      } finally {
        await host.close();
      }
    } finally {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill();
      await holderExit;
    }
  });
});

describe("round trips", () => {
  it("with a fresh SshHost, dockerUserRule.create is at most 2 remote commands and read is exactly 1", async () => {
    const made: SshHost[] = [];
    setHostFactory((connection) => {
      const host = new SshHost(connection!);
      made.push(host);
      return host;
    });
    const owner = "p/count/rule/one";
    const { id, outs } = await checkAndCreate(ruleProps(owner, connectionTo(sudoOk), 8200));
    expect(made).toHaveLength(1);
    const afterCreate = made[0].execCount;
    expect(afterCreate).toBeLessThanOrEqual(2);
    await dockerUserRule.read(id, outs);
    const afterRead = made[0].execCount;
    expect(afterRead - afterCreate).toBe(1);
    await dockerUserRule.delete(id, outs);
    const afterDelete = made[0].execCount;
    console.log(`round trips: create ${afterCreate}, read ${afterRead - afterCreate}, delete ${afterDelete - afterRead}`);
    expect(afterDelete - afterRead).toBeLessThanOrEqual(2);
    expect(made).toHaveLength(1);
  });

  it("with a fresh SshHost, HostSession.apply is at most 2 remote commands and read is exactly 1", async () => {
    const host = new SshHost(connectionTo(sudoOk));
    try {
      const session = new HostSession(host, "auto");
      const owner = "p/count/rule/two";
      await session.apply({ owner, rules: dockerUserRules({ __owner: owner, action: "DROP", protocol: "tcp", originalDestinationPort: 8201 }) });
      expect(host.execCount).toBeLessThanOrEqual(2);
      const before = host.execCount;
      await session.read();
      expect(host.execCount - before).toBe(1);
      await session.apply({ owner, rules: { ipv4: [], ipv6: [] } });
    } finally {
      await host.close();
    }
  });
});
