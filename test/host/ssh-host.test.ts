import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect, promisify } from "node:util";
import type { types } from "@pulumi/command";
import type { Connection } from "../../provider/connection";
import { HostError, ValidationError } from "../../provider/errors";
import { dialSettings, dialTimeLimitMs, SshHost } from "../../provider/host/ssh-host";
import { connectionSchema } from "../../provider/schema/connection-schema";
import { run } from "../support/netns";
import { generateKey, startSshd, type KeyPair, type Sshd } from "../support/sshd";

let sshd: Sshd;
let keyDir: string;
const hosts: SshHost[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  keyDir = await mkdtemp(join(tmpdir(), "pdf-sshkeys-"));
});

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

afterAll(async () => {
  await sshd?.stop();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

/** An SshHost for the test sshd as root with the authorized key, closed after the test. */
function connect(overrides: Partial<Connection> = {}): SshHost {
  const host = new SshHost({ host: sshd.address, port: sshd.port, privateKey: sshd.privateKey, ...overrides });
  hosts.push(host);
  return host;
}

/** Resolves with what `promise` rejected with, failing when it resolves. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

/** The fingerprint `ssh-keygen -l` prints for a public key line. */
async function fingerprintOf(publicKey: string): Promise<string> {
  return (await run(["ssh-keygen", "-l", "-f", "-"], { stdin: publicKey })).split(" ")[1];
}

/** Where the SSH connection of a command came from: `address port` (the client side of the TCP connection). */
async function clientEnd(host: SshHost): Promise<string> {
  const { stdout } = await host.exec(["sh", "-c", 'set -- $SSH_CLIENT; echo "$1 $2"']);
  return stdout.trim();
}

const WEIRD = `it's "quoted" $HOME $(id) \`id\` \\ ; | & < > * ? ~ [a] {a,b} # ! %s %% -n\n\ttab\r é漢🙂 ''`;

describe("SshHost against a real sshd", () => {
  it("returns the exit code, stdout and stderr", async () => {
    const result = await connect().exec(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(result).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
  });

  it("writes stdin to the command and then closes it, also for 1 MiB", async () => {
    const host = connect();
    expect((await host.exec(["cat"], { stdin: "line 1\nline 2 ü\n" })).stdout).toBe("line 1\nline 2 ü\n");
    expect((await host.exec(["wc", "-c"], { stdin: "x".repeat(1 << 20) })).stdout.trim()).toBe(String(1 << 20));
    expect((await host.exec(["cat"])).stdout).toBe("");
  });

  it("hands an argument full of shell metacharacters over byte for byte", async () => {
    const result = await connect().exec(["printf", "%s", WEIRD]);
    expect(result).toEqual({ code: 0, stdout: WEIRD, stderr: "" });
  });

  it("runs commands inside the server's namespace", async () => {
    const { stdout } = await connect().exec(["ip", "-br", "addr"]);
    expect(stdout).toContain(sshd.address);
    expect(stdout).not.toMatch(/^eth0/m);
  });

  it("runs concurrent commands over one connection", async () => {
    const host = connect();
    const runs = Array.from({ length: 5 }, () => host.exec(["sh", "-c", 'sleep 0.3; set -- $SSH_CLIENT; echo "$1 $2"']));
    // One client end (address and port) for all five: one TCP connection.
    const ends = (await Promise.all(runs)).map((r) => r.stdout.trim());
    expect(new Set(ends).size).toBe(1);
    expect(host.execCount).toBe(5);
  });

  it("runs bursts beyond sshd's 10 sessions per connection without failing", async () => {
    // Quick commands as the /bin/sh user make sshd's session slots turn over fastest.
    const host = connect({ user: sshd.user.name, password: sshd.user.password, privateKey: undefined });
    for (let burst = 0; burst < 3; burst++) {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => host.exec(["echo", String(i)])));
      expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}\n`));
    }
    expect(host.execCount).toBe(120);
  });

  it("reconnects on the next exec after the server dropped the connection", async () => {
    const host = connect();
    const before = await clientEnd(host);
    expect(await sshd.dropConnections()).toBeGreaterThanOrEqual(1);
    const after = await clientEnd(host);
    expect(after).not.toBe(before);
    expect(host.execCount).toBe(2);
  });

  it("rejects a command whose connection drops while it runs", async () => {
    const host = connect();
    await host.exec(["true"]);
    // Take the rejection at once: it may come while the connections are still being dropped.
    const running = failure(host.exec(["sleep", "2"]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sshd.dropConnections();
    const err = await running;
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${host.name}: the connection was lost while \`sleep\` ran (the server closed it); it may or may not have taken effect`);
    expect((await host.exec(["true"])).code).toBe(0);
  });

  it("rejects with HostError when a command times out, and stays usable", async () => {
    const host = connect();
    await host.exec(["true"]);
    const started = Date.now();
    const err = await failure(host.exec(["sleep", "3"], { timeoutMs: 300 }));
    expect(Date.now() - started).toBeLessThan(2500); // cut short: `sleep 3` would take 3 s
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${host.name}: \`sleep\` did not finish within 300 ms`);
    expect((await host.exec(["echo", "still here"])).stdout).toBe("still here\n");
  });

  it("times out a command that exited but left a process holding its output, saying so", async () => {
    const host = connect();
    const started = Date.now();
    // The channel closes only when the background `sleep` lets go of stdout.
    const err = await failure(host.exec(["sh", "-c", "sleep 3 & exit 0"], { timeoutMs: 500 }));
    expect(Date.now() - started).toBeLessThan(2500);
    expect(err.message).toBe(`${host.name}: \`sh\` did not finish within 500 ms: it exited, but a process it started kept its output open`);
  });

  it("counts the wait for a free session against the command's timeout", async () => {
    const host = connect();
    await host.exec(["true"]);
    const busy = Array.from({ length: 8 }, () => host.exec(["sleep", "1"], { timeoutMs: 10_000 }));
    const started = Date.now();
    const err = await failure(host.exec(["true"], { timeoutMs: 300 }));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(err.message).toBe(`${host.name}: \`true\` did not finish within 300 ms: it never started: all 8 sessions of the connection stayed busy`);
    expect((await Promise.all(busy)).map((r) => r.code)).toEqual(Array(8).fill(0));
    expect((await host.exec(["true"])).code).toBe(0); // the timed-out waiter gave its place back
  });

  it("accepts the pinned host key, choosing the pinned key type", async () => {
    expect((await connect({ hostKey: sshd.hostKey }).exec(["true"])).code).toBe(0);
    expect((await connect({ hostKey: sshd.ecdsaHostKey }).exec(["true"])).code).toBe(0);
    expect((await connect({ hostKey: sshd.hostKey.split(" ")[1] }).exec(["true"])).code).toBe(0);
  });

  it("refuses a server whose host key differs from the pinned one, naming both fingerprints", async () => {
    const other = await generateKey(keyDir, "other-host");
    const host = connect({ hostKey: other.publicKey });
    const started = Date.now();
    const err = await failure(host.exec(["true"]));
    expect(Date.now() - started).toBeLessThan(5000); // no retries: 10 attempts would take 9 s or more
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(
      `${host.name}: host key mismatch: expected ${await fingerprintOf(other.publicKey)}, got ${await fingerprintOf(sshd.hostKey)}; ` +
        "if the server's key changed on purpose, update hostKey",
    );
    expect(host.execCount).toBe(0);
  });

  it("rejects a hostKey that is not a public key line when constructed", () => {
    expect(() => new SshHost({ host: sshd.address, hostKey: "not a key" })).toThrow(ValidationError);
  });

  it("fails authentication with an unknown key at once, without retrying", async () => {
    const stranger = await generateKey(keyDir, "stranger");
    const host = connect({ privateKey: stranger.privateKey });
    const started = Date.now();
    const err = await failure(host.exec(["true"]));
    expect(Date.now() - started).toBeLessThan(5000); // no retries: 10 attempts would take 9 s or more
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`${host.name}: authentication failed for user root: check privateKey`);
    expectNoSecret(err, host, stranger);
  });

  it("says a privateKey that is not a key cannot be used, without quoting it", async () => {
    const garbage = "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END OPENSSH PRIVATE KEY-----\n";
    const host = connect({ privateKey: garbage });
    const err = await failure(host.exec(["true"]));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toMatch(/privateKey is not an OpenSSH or PEM private key/);
    expect(String(err)).not.toContain("bm90IGEga2V5");
  });

  it("logs in with an encrypted key and its privateKeyPassword, and reports a wrong one without quoting it", async () => {
    const locked = await generateKey(keyDir, "locked", "correct horse");
    await sshd.authorize(locked.publicKey);
    expect((await connect({ privateKey: locked.privateKey, privateKeyPassword: "correct horse" }).exec(["true"])).code).toBe(0);
    const host = connect({ privateKey: locked.privateKey, privateKeyPassword: "battery staple" });
    const err = await failure(host.exec(["true"]));
    expect(err).toBeInstanceOf(HostError);
    expect(String(err)).not.toContain("battery staple");
    expectNoSecret(err, host, locked);
  });

  it("logs in as a non-root user with a password, and reports a wrong password without quoting it", async () => {
    const { name, password } = sshd.user;
    const host = connect({ user: name, password, privateKey: undefined });
    expect((await host.exec(["id", "-un"])).stdout).toBe(`${name}\n`);
    const wrong = connect({ user: name, password: "hunter2-wrong", privateKey: undefined });
    const err = await failure(wrong.exec(["true"]));
    expect(err.message).toBe(`${wrong.name}: authentication failed for user ${name}: check password`);
    for (const text of [String(err), inspect(wrong), JSON.stringify(wrong)]) expect(text).not.toContain("hunter2");
  });

  it("prefixes every command with `sudo -n --` when sudo is set (stand-in sudo, see test/support/sshd.ts)", async () => {
    const host = connect({ user: sshd.user.name, sudo: true });
    expect((await host.exec(["printenv", "SUDO_STAND_IN"])).stdout).toBe("1\n");
    expect((await host.exec(["printf", "%s", WEIRD])).stdout).toBe(WEIRD);
    expect((await connect().exec(["printenv", "SUDO_STAND_IN"])).code).toBe(1);
  });

  it("reads and writes files over the connection", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pdf-sshfile-"));
    try {
      const host = connect();
      const path = join(dir, "rules.v4");
      expect(await host.readFile(path)).toBeUndefined();
      await host.writeFile(path, "*filter\nCOMMIT\n");
      expect(await host.readFile(path)).toBe("*filter\nCOMMIT\n");
      expect(host.execCount).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reaches the server over IPv6, naming it in brackets", async () => {
    const host = connect({ host: sshd.address6 });
    expect(host.name).toBe(`root@[${sshd.address6}]:22`);
    expect((await host.exec(["true"])).code).toBe(0);
  });

  it("fails fast and clearly when nothing listens on the port", async () => {
    const host = connect({ port: 2, dialErrorLimit: 2, perDialTimeout: 2 });
    const started = Date.now();
    const err = await failure(host.exec(["true"]));
    expect(Date.now() - started).toBeLessThan(4000);
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(`root@${sshd.address}:2: cannot reach the SSH server: connection refused (after 2 attempts)`);
  });

  it("gives up after perDialTimeout when the server never answers, once per attempt", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const host = connect({ host: "127.0.0.1", port, dialErrorLimit: 2, perDialTimeout: 1 });
      const err = await failure(host.exec(["true"]));
      expect(err.message).toBe(`root@127.0.0.1:${port}: cannot reach the SSH server: no SSH handshake within 1 s (after 2 attempts)`);
      expect(sockets).toHaveLength(2);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("never shows the private key or password in inspect, JSON or errors", async () => {
    const host = connect({ password: "s3cret-pass", privateKeyPassword: "s3cret-phrase", port: 2, dialErrorLimit: 1 });
    const err = await failure(host.exec(["true"]));
    expectNoSecret(err, host, { privateKey: sshd.privateKey, publicKey: "" });
    for (const text of [String(err), inspect(host, { depth: 10 }), JSON.stringify(host)]) {
      expect(text).not.toContain("s3cret");
    }
    expect(JSON.stringify(host)).toBe(JSON.stringify({ name: host.name }));
  });

  it("rejects commands after close, and close twice is harmless", async () => {
    const host = connect();
    await host.exec(["true"]);
    await host.close();
    await host.close();
    const err = await failure(host.exec(["true"]));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toMatch(/closed/);
  });

  // root's shell here is bash, which sources /root/.bashrc (pyenv setup on this machine) for every
  // command; the test user's /bin/sh does not, so its figures show the transport's own cost.
  it.each(["root", "the /bin/sh user"])("measures connect and per-exec time as %s", async (who) => {
    const host = who === "root" ? connect() : connect({ user: sshd.user.name, password: sshd.user.password, privateKey: undefined });
    const t0 = performance.now();
    await host.exec(["true"]);
    const first = performance.now() - t0;
    const n = 20;
    const t1 = performance.now();
    for (let i = 0; i < n; i++) await host.exec(["true"]);
    const perExec = (performance.now() - t1) / n;
    const t2 = performance.now();
    await Promise.all(Array.from({ length: n }, () => host.exec(["true"])));
    const parallel = (performance.now() - t2) / n;
    console.log(
      `ssh timing as ${who}: first exec (connect + exec) ${first.toFixed(1)} ms, so connect ≈ ${(first - perExec).toFixed(1)} ms; ` +
        `sequential exec ${perExec.toFixed(1)} ms; ${n} concurrent execs ${parallel.toFixed(1)} ms each`,
    );
    expect(host.execCount).toBe(2 * n + 1);
  });
});

describe("@pulumi/command's connection settings", () => {
  it("reads dialErrorLimit -1 as 100 attempts and perDialTimeout 0 as 10 minutes; defaults 10 and 15 s", () => {
    const host = "192.0.2.1";
    expect(dialSettings({ host }, {})).toEqual({ attempts: 10, readyTimeoutMs: 15_000 });
    expect(dialSettings({ host, dialErrorLimit: 3, perDialTimeout: 20 }, {})).toEqual({ attempts: 3, readyTimeoutMs: 20_000 });
    expect(dialSettings({ host, dialErrorLimit: -1, perDialTimeout: 0 }, {})).toEqual({ attempts: 100, readyTimeoutMs: 600_000 });
  });

  it("bounds connecting by every attempt's perDialTimeout plus the pauses: 159 s by default", () => {
    const host = "192.0.2.1";
    expect(dialTimeLimitMs(dialSettings({ host }, {}))).toBe(159_000);
    expect(dialTimeLimitMs(dialSettings({ host, dialErrorLimit: 3, perDialTimeout: 5 }, {}))).toBe(15_600);
    expect(dialTimeLimitMs(dialSettings({ host, dialErrorLimit: 1, perDialTimeout: 1 }, {}))).toBe(1_000);
  });

  it("uses the agent at SSH_AUTH_SOCK only when no privateKey, password or agentSocketPath is given", () => {
    const env = { SSH_AUTH_SOCK: "/run/agent.sock" };
    expect(dialSettings({ host: "h" }, env).agent).toBe("/run/agent.sock");
    expect(dialSettings({ host: "h", agentSocketPath: "/mine.sock" }, env).agent).toBe("/mine.sock");
    expect(dialSettings({ host: "h", privateKey: "k" }, env).agent).toBeUndefined();
    expect(dialSettings({ host: "h", password: "p" }, env).agent).toBeUndefined();
    expect(dialSettings({ host: "h" }, { SSH_AUTH_SOCK: "" }).agent).toBeUndefined();
    expect(dialSettings({ host: "h" }, {}).agent).toBeUndefined();
  });

  it("the schema takes a connection written for remote.Command unchanged, -1 and 0 included", () => {
    const connection = {
      host: "192.0.2.1",
      port: 22,
      user: "deploy",
      privateKey: sshd.privateKey,
      agentSocketPath: "/run/user/1000/ssh-agent.sock",
      dialErrorLimit: -1,
      perDialTimeout: 0,
    } satisfies types.input.remote.ConnectionArgs;
    expect(connectionSchema.safeParse(connection)).toMatchObject({ success: true, data: connection });
    expect(connectionSchema.safeParse({ host: "h", dialErrorLimit: 100, perDialTimeout: 600 }).success).toBe(true);
  });

  it.each([
    [{ dialErrorLimit: 0 }, "dialErrorLimit must be -1 (unlimited) or 1 to 100"],
    [{ dialErrorLimit: -2 }, "dialErrorLimit must be -1 (unlimited) or 1 to 100"],
    [{ dialErrorLimit: 101 }, "dialErrorLimit must be -1 (unlimited) or 1 to 100"],
    [{ perDialTimeout: -1 }, "perDialTimeout must be 0 (no maximum) or 1 to 600 seconds"],
    [{ perDialTimeout: 601 }, "perDialTimeout must be 0 (no maximum) or 1 to 600 seconds"],
    [{ perDialTimeout: 1.5 }, "expected int"],
  ])("the schema rejects %o", (fields, message) => {
    const result = connectionSchema.safeParse({ host: "h", ...fields });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join("; ")).toMatch(message);
  });
});

describe("SshHost with an SSH agent", () => {
  const savedAuthSock = process.env.SSH_AUTH_SOCK;
  let agent: ChildProcess | undefined;
  let socket: string;

  /** Starts `ssh-agent -D` (it stays in the foreground, so it is our child) and adds the key sshd authorizes. */
  beforeAll(async () => {
    socket = join(keyDir, "agent.sock");
    const child = spawn("ssh-agent", ["-D", "-a", socket], { stdio: ["ignore", "pipe", "inherit"] });
    agent = child;
    await new Promise<void>((resolve, reject) => {
      child.once("error", reject).once("exit", (code) => reject(new Error(`ssh-agent exited with ${code}`)));
      // It prints `SSH_AUTH_SOCK=…` once the socket listens.
      child.stdout!.on("data", (d: Buffer) => d.toString().includes("SSH_AUTH_SOCK") && resolve());
    });
    const keyFile = join(keyDir, "agent-key");
    await writeFile(keyFile, sshd.privateKey, { mode: 0o600 });
    await promisify(execFile)("ssh-add", [keyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
  });

  afterEach(() => {
    if (savedAuthSock === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = savedAuthSock;
  });

  afterAll(async () => {
    const child = agent;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise((resolve) => child.once("exit", resolve).kill());
  });

  it("logs in with only agentSocketPath", async () => {
    delete process.env.SSH_AUTH_SOCK;
    const host = connect({ privateKey: undefined, agentSocketPath: socket });
    expect((await host.exec(["id", "-un"])).stdout).toBe("root\n");
  });

  it("logs in with no credentials at all through the agent at SSH_AUTH_SOCK", async () => {
    process.env.SSH_AUTH_SOCK = socket;
    const host = connect({ privateKey: undefined, user: sshd.user.name });
    expect((await host.exec(["id", "-un"])).stdout).toBe(`${sshd.user.name}\n`);
  });

  it("without credentials or SSH_AUTH_SOCK, fails at once naming every way to log in", async () => {
    delete process.env.SSH_AUTH_SOCK;
    const host = connect({ privateKey: undefined });
    const err = await failure(host.exec(["true"]));
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toBe(
      `${host.name}: no credentials to log in with: set privateKey, password or agentSocketPath, ` +
        "or run the program with SSH_AUTH_SOCK pointing at an SSH agent",
    );
    expect(host.execCount).toBe(0);
  });

  it("when the keys of the agent at SSH_AUTH_SOCK are refused, says to check them", async () => {
    process.env.SSH_AUTH_SOCK = socket;
    const host = connect({ privateKey: undefined, user: "nosuchuser" });
    const err = await failure(host.exec(["true"]));
    expect(err.message).toBe(`${host.name}: authentication failed for user nosuchuser: check the keys of the SSH agent at SSH_AUTH_SOCK`);
  });

  it("names the agent socket that cannot be reached, and where it came from, without retrying", async () => {
    const missing = join(keyDir, "no-agent.sock");
    process.env.SSH_AUTH_SOCK = missing;
    const fromEnv = connect({ privateKey: undefined });
    const err = await failure(fromEnv.exec(["true"]));
    expect(err.message).toBe(`${fromEnv.name}: cannot use the SSH agent at ${missing} (SSH_AUTH_SOCK): Failed to connect to agent`);
    const given = connect({ privateKey: undefined, agentSocketPath: missing });
    expect((await failure(given.exec(["true"]))).message).toMatch(`at ${missing} (agentSocketPath)`);
  });
});

/** The private key, none of its lines, and no passphrase appear in the error or in the host's inspection. */
function expectNoSecret(err: Error, host: SshHost, key: KeyPair): void {
  const keyLines = key.privateKey.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));
  for (const text of [String(err), err.stack ?? "", inspect(host, { depth: 10 }), JSON.stringify(host)]) {
    for (const line of keyLines) expect(text).not.toContain(line);
  }
}
