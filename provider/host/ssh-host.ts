import { createHash } from "node:crypto";
import { Socket } from "node:net";
import { constants } from "node:os";
import { Client, utils, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from "ssh2";
import type { Connection } from "../connection";
import { HostError, ValidationError } from "../errors";
import { readFileByExec, writeFileByExec } from "./file-commands";
import { DEFAULT_EXEC_TIMEOUT_MS, type ExecOptions, type ExecResult, type Host } from "./host";
import { shellQuote } from "./shell-quote";
import { TimeBudget } from "./time-budget";

/** Connection attempts when `dialErrorLimit` is not set. */
const DEFAULT_DIAL_ERROR_LIMIT = 10;
/** Seconds per connection attempt when `perDialTimeout` is not set. */
const DEFAULT_PER_DIAL_TIMEOUT_S = 15;
/** Attempts for `dialErrorLimit: -1`, which `@pulumi/command` takes as unlimited. */
const UNLIMITED_DIAL_ATTEMPTS = 100;
/** Seconds per attempt for `perDialTimeout: 0`, which `@pulumi/command` takes as no maximum. */
const UNLIMITED_PER_DIAL_TIMEOUT_S = 600;
/** Channels open at once; sshd refuses more than 10 per connection by default (`MaxSessions`). */
const MAX_CHANNELS = 8;
/** Tries to open one command's channel before giving up. */
const CHANNEL_OPEN_ATTEMPTS = 5;
/** Milliseconds between keepalive requests when {@link SshHostOptions.keepaliveIntervalMs} is not set. */
const DEFAULT_KEEPALIVE_INTERVAL_MS = 5000;
/** Unanswered keepalive requests tolerated when {@link SshHostOptions.keepaliveCountMax} is not set. */
const DEFAULT_KEEPALIVE_COUNT_MAX = 3;
/** Milliseconds a closing connection waits for the server's answer before its socket is dropped. */
const CLOSE_GRACE_MS = 1000;

/** Socket errors worth another attempt, in words. Any other failure is final. */
const TRANSIENT_NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EAI_AGAIN: "name lookup failed",
};

/** The pinned host key: its wire blob and key type. */
interface PinnedKey {
  readonly blob: Buffer;
  readonly type: string;
}

/** One SSH connection: the ssh2 client, the socket under it, and why it ended. */
interface SshConnection {
  readonly client: Client;
  /**
   * Made here rather than by ssh2 so that it can always be destroyed: after
   * `client.end()`, ssh2's `destroy()` does nothing (mscdex/ssh2#1124), and a
   * socket whose peer is gone would then linger for many minutes.
   */
  readonly socket: Socket;
  /** Why the connection ended, once it has; the commands it was running are told. */
  lost?: string;
}

/** Why one connection attempt failed, and whether another attempt may succeed. */
interface DialFailure {
  readonly reason: string;
  readonly transient: boolean;
}

/** How {@link SshHost} dials, as {@link dialSettings} reads it from a `Connection`. */
export interface DialSettings {
  /** Connection attempts before giving up, at least 1. */
  readonly attempts: number;
  /** Milliseconds each attempt may take until the SSH handshake is done (ssh2's `readyTimeout`). */
  readonly readyTimeoutMs: number;
  /** The SSH agent socket to authenticate with, if any. */
  readonly agent?: string;
}

/** Tuning of {@link SshHost} that a `Connection` has no field for; tests shorten it to see a lost connection quickly. */
export interface SshHostOptions {
  /**
   * Milliseconds between SSH keepalive requests (ssh2's `keepaliveInterval`,
   * like OpenSSH's `ServerAliveInterval`). They are sent whether or not a
   * command is running.
   * @default 5000
   */
  readonly keepaliveIntervalMs?: number;
  /**
   * Keepalive requests that may go unanswered (ssh2's `keepaliveCountMax`):
   * a connection that answers nothing for (`keepaliveCountMax` + 1) ×
   * `keepaliveIntervalMs` counts as lost, 20 s with the defaults.
   * @default 3
   */
  readonly keepaliveCountMax?: number;
}

/**
 * Reads a connection's dial settings the way `@pulumi/command` does, but
 * always bounded: `dialErrorLimit` -1 (unlimited there) gives 100 attempts,
 * `perDialTimeout` 0 (no maximum there) gives 600 s, and when none of
 * `privateKey`, `password` and `agentSocketPath` is set, the agent at
 * `env.SSH_AUTH_SOCK` (if set) is used.
 */
export function dialSettings(c: Connection, env: NodeJS.ProcessEnv = process.env): DialSettings {
  const limit = c.dialErrorLimit ?? DEFAULT_DIAL_ERROR_LIMIT;
  const seconds = c.perDialTimeout ?? DEFAULT_PER_DIAL_TIMEOUT_S;
  const noCredentials = c.privateKey === undefined && c.password === undefined;
  return {
    attempts: limit < 0 ? UNLIMITED_DIAL_ATTEMPTS : Math.max(1, limit),
    readyTimeoutMs: (seconds <= 0 ? UNLIMITED_PER_DIAL_TIMEOUT_S : seconds) * 1000,
    agent: c.agentSocketPath ?? ((noCredentials && env.SSH_AUTH_SOCK) || undefined),
  };
}

/**
 * The longest connecting can take before it fails: every attempt running
 * out its whole `perDialTimeout`, plus the pauses between attempts (0.2 s
 * after the first, growing by 0.2 s up to 2 s). With the defaults (10
 * attempts of 15 s) that is 159 s; `dialErrorLimit: 3, perDialTimeout: 5`
 * make it 15.6 s. An attempt that meets an error (connection refused, host
 * unreachable) ends sooner than its `perDialTimeout`.
 */
export function dialTimeLimitMs(settings: DialSettings): number {
  let total = settings.attempts * settings.readyTimeoutMs;
  for (let attempt = 1; attempt < settings.attempts; attempt++) total += dialPauseMs(attempt);
  return total;
}

/**
 * A remote machine reached over SSH. One connection is opened on the first
 * `exec` and shared by every later one (each command gets its own channel,
 * so commands may run concurrently). Every command is sent as a single-quoted
 * command line, so the remote login shell, which must be a POSIX shell, runs
 * exactly the argv given.
 *
 * Nothing waits without a bound. Connecting takes at most
 * {@link dialTimeLimitMs} (`dialErrorLimit` attempts of `perDialTimeout`
 * each). A connection that stops answering keepalive requests (see
 * {@link SshHostOptions}) counts as lost: the commands it was running fail
 * at once, saying so, and the next `exec` connects anew. Each command's
 * `timeoutMs` bounds everything it waits for once connected.
 *
 * The connection settings live in a private field: neither `JSON.stringify`,
 * `util.inspect` nor any error message shows a password or key.
 */
export class SshHost implements Host {
  /** `user@host:port` (IPv6 addresses in brackets). */
  readonly name: string;
  readonly #connection: Connection;
  readonly #keepaliveIntervalMs: number;
  readonly #keepaliveCountMax: number;
  readonly #pinnedKey?: PinnedKey;
  /** The connection commands are started on, while it lasts. */
  #live?: SshConnection;
  /** The connection attempt in progress, which `close` aborts. */
  #attempt?: SshConnection;
  #dialing?: Promise<SshConnection>;
  #closed = false;
  #execCount = 0;
  #openChannels = 0;
  readonly #waitingForChannel: (() => void)[] = [];

  /**
   * Connects lazily: nothing happens until the first `exec`.
   * @throws ValidationError when `connection.hostKey` is not an OpenSSH public key
   */
  constructor(connection: Connection, options: SshHostOptions = {}) {
    this.#connection = connection;
    this.#keepaliveIntervalMs = options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
    this.#keepaliveCountMax = options.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX;
    const host = connection.host.includes(":") ? `[${connection.host}]` : connection.host;
    this.name = `${connection.user ?? "root"}@${host}:${connection.port ?? 22}`;
    if (connection.hostKey !== undefined) this.#pinnedKey = parseHostKey(connection.hostKey);
  }

  /** How many commands have been started on the remote host, i.e. round trips made. */
  get execCount(): number {
    return this.#execCount;
  }

  /**
   * Runs argv on the remote host (through `sudo -n --` when `connection.sudo`).
   * Rejects with `HostError` when the host cannot be reached or logged into
   * (within {@link dialTimeLimitMs}), when `timeoutMs` runs out (spent only
   * once connected: waiting for a free session, for the server to open it
   * and for the command to end), or when the connection is lost while the
   * command runs (noticed by keepalive, see {@link SshHostOptions}).
   *
   * A timeout closes the command's channel but cannot kill the command:
   * OpenSSH ignores SSH `signal` requests on root logins, and a user's signal
   * could not reach a command run by sudo. A command that must not outlive
   * its caller needs its own bound (e.g. `iptables-restore -w SECONDS`).
   */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const program = argv[0];
    const command = shellQuote(this.#connection.sudo ? ["sudo", "-n", "--", ...argv] : argv);
    const budget = new TimeBudget(options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS);
    // Connect before queueing for a session, so that time spent connecting (bounded by the dial settings) is not spent from the budget.
    await this.#connect();
    await this.#takeChannelSlot(program, budget);
    try {
      const { channel, connection } = await this.#startCommand(command, program, budget);
      this.#execCount += 1;
      return await this.#collect(channel, connection, program, options.stdin ?? "", budget);
    } finally {
      this.#releaseChannelSlot();
    }
  }

  /** Reads a remote text file in one round trip; `undefined` when it does not exist. */
  readFile(path: string): Promise<string | undefined> {
    return readFileByExec((a, o) => this.exec(a, o), this.name, path);
  }

  /** Replaces a remote text file atomically, in one round trip. */
  writeFile(path: string, content: string): Promise<void> {
    return writeFileByExec((a, o) => this.exec(a, o), this.name, path, content);
  }

  /**
   * Ends the connection (or the connection attempt), waiting until it is
   * closed, at most about a second when the server no longer answers.
   * Commands still running fail; later calls to `exec` reject.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#attempt?.socket.destroy();
    const connection = this.#live ?? (await this.#dialing?.catch(() => undefined));
    if (connection === undefined) return;
    connection.lost ??= "this host was closed";
    if (this.#live === connection) this.#live = undefined;
    await shutDown(connection);
  }

  /**
   * Opens a channel running `command`, spending the budget while waiting for
   * the server to open it. Until it opens the command has not
   * started, so a failure is retried: on a new connection when this one died,
   * after a pause when sshd had no session free (it still counts sessions
   * whose close is in flight against `MaxSessions`).
   */
  async #startCommand(command: string, program: string, budget: TimeBudget): Promise<{ channel: ClientChannel; connection: SshConnection }> {
    for (let attempt = 1; ; attempt++) {
      const connection = await this.#connect();
      const opening = openExecChannel(connection.client, command);
      try {
        const channel = await budget.wait(opening, () => {
          opening.then((late) => late.close(), () => undefined);
          return this.#timedOut(program, budget, "it never started: the server did not open a session for it");
        });
        return { channel, connection };
      } catch (err) {
        if (err instanceof HostError) throw err;
        const connectionDied = this.#live !== connection;
        const refused = typeof (err as { reason?: unknown }).reason === "number";
        if (attempt >= CHANNEL_OPEN_ATTEMPTS || !(connectionDied || refused)) {
          throw new HostError(this.name, `cannot start \`${program}\`: ${this.#redact(errorMessage(err))}`);
        }
        if (refused) await sleep(50 * attempt);
      }
    }
  }

  /**
   * Sends stdin, gathers output and resolves when the command's channel
   * closes, which needs the command and every process holding its output to
   * end; the budget bounds that wait.
   */
  #collect(channel: ClientChannel, connection: SshConnection, program: string, stdin: string, budget: TimeBudget): Promise<ExecResult> {
    let exited = false;
    const finished = new Promise<ExecResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      channel.on("data", (d: Buffer) => stdout.push(d));
      channel.stderr.on("data", (d: Buffer) => stderr.push(d));
      channel.on("exit", () => (exited = true));
      // ssh2 passes the exit status, or null and the signal's name, or nothing when there was neither.
      channel.on("close", (code?: number | null, signal?: string) => {
        if (code !== undefined) {
          resolve({
            code: code ?? 128 + signalNumber(signal),
            stdout: Buffer.concat(stdout).toString("utf8"),
            stderr: Buffer.concat(stderr).toString("utf8"),
          });
        } else if (connection.lost !== undefined) {
          reject(new HostError(this.name, `the connection was lost while \`${program}\` ran (${connection.lost}); it may or may not have taken effect`));
        } else {
          reject(new HostError(this.name, `the server ended \`${program}\`'s session without an exit status; it may or may not have taken effect`));
        }
      });
    });
    channel.end(stdin);
    return budget.wait(finished, () => {
      channel.close();
      return this.#timedOut(program, budget, exited ? "it exited, but a process it started kept its output open" : undefined);
    });
  }

  /** The error for a command whose budget ran out, with why when known. */
  #timedOut(program: string, budget: TimeBudget, why: string | undefined): HostError {
    return new HostError(this.name, `\`${program}\` did not finish within ${budget.totalMs} ms${why === undefined ? "" : `: ${why}`}`);
  }

  /** The live connection, dialling one (shared by concurrent callers) when there is none. */
  #connect(): Promise<SshConnection> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#live !== undefined) return Promise.resolve(this.#live);
    this.#dialing ??= this.#dial().finally(() => (this.#dialing = undefined));
    return this.#dialing;
  }

  #closedError(): HostError {
    return new HostError(this.name, "this host was closed and can no longer run commands");
  }

  /**
   * Dials up to `dialErrorLimit` times (see {@link dialSettings}), with a
   * growing pause, retrying only transient network failures; gives up
   * within {@link dialTimeLimitMs}, or at once when the host is closed.
   */
  async #dial(): Promise<SshConnection> {
    const settings = dialSettings(this.#connection);
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw this.#closedError();
      try {
        return await this.#dialOnce(settings);
      } catch (err) {
        const failure = err as DialFailure;
        if (this.#closed) throw this.#closedError();
        if (!failure.transient) throw new HostError(this.name, failure.reason);
        if (attempt >= settings.attempts) {
          throw new HostError(this.name, `cannot reach the SSH server: ${failure.reason} (after ${attempt} attempt${attempt === 1 ? "" : "s"})`);
        }
        await sleep(dialPauseMs(attempt));
      }
    }
  }

  /**
   * One connection attempt, bounded by ssh2's `readyTimeout` from the TCP
   * connect to the end of authentication; rejects with a `DialFailure`.
   */
  #dialOnce(settings: DialSettings): Promise<SshConnection> {
    const c = this.#connection;
    const pinned = this.#pinnedKey;
    const connection: SshConnection = { client: new Client(), socket: new Socket() };
    const { client, socket } = connection;
    let offeredKey: Buffer | undefined;
    const config: ConnectConfig = {
      host: c.host,
      port: c.port ?? 22,
      username: c.user ?? "root",
      password: c.password,
      privateKey: c.privateKey,
      passphrase: c.privateKeyPassword,
      agent: settings.agent,
      readyTimeout: settings.readyTimeoutMs,
      keepaliveInterval: this.#keepaliveIntervalMs,
      keepaliveCountMax: this.#keepaliveCountMax,
      sock: socket,
    };
    if (pinned !== undefined) {
      config.algorithms = { serverHostKey: hostKeyAlgorithms(pinned.type) };
      config.hostVerifier = (key: Buffer) => {
        offeredKey = key;
        return key.equals(pinned.blob);
      };
    }
    return new Promise((resolve, reject) => {
      let ready = false;
      /** Records why the connection ended (the first reason heard) and stops starting commands on it. */
      const lose = (reason: string) => {
        connection.lost ??= reason;
        if (this.#live === connection) this.#live = undefined;
      };
      client.on("ready", () => {
        ready = true;
        this.#attempt = undefined;
        this.#live = connection;
        resolve(connection);
      });
      client.on("error", (err: Error & { level?: string; code?: string }) => {
        if (ready) lose(this.#lossReason(err));
        else reject(this.#dialFailure(err, offeredKey, settings));
        void shutDown(connection);
      });
      client.on("end", () => lose("the server closed it"));
      client.on("close", () => {
        lose("its socket closed");
        if (this.#attempt === connection) this.#attempt = undefined;
        reject({ reason: "the server closed the connection during the handshake", transient: true } satisfies DialFailure);
      });
      const problem = credentialsProblem(c, settings) ?? privateKeyProblem(c.privateKey, c.privateKeyPassword);
      if (problem !== undefined) {
        reject({ reason: problem, transient: false } satisfies DialFailure);
        return;
      }
      try {
        // Connecting first: ssh2 takes a given socket that is not connecting for one already connected.
        socket.connect({ host: c.host, port: c.port ?? 22 });
        this.#attempt = connection;
        client.connect(config);
      } catch (err) {
        socket.destroy();
        reject({ reason: `cannot use the connection settings: ${this.#redact(errorMessage(err))}`, transient: false } satisfies DialFailure);
      }
    });
  }

  /** Why an established connection ended, from the error ssh2 reported. */
  #lossReason(err: Error & { level?: string; code?: string }): string {
    // Once ready, ssh2's only timeout is its keepalive's.
    if (err.level === "client-timeout") return `no answer to keepalives for ${((this.#keepaliveCountMax + 1) * this.#keepaliveIntervalMs) / 1000} s`;
    const network = err.code === undefined ? undefined : TRANSIENT_NETWORK_ERRORS[err.code];
    return network ?? this.#redact(err.message);
  }

  /** Explains a failed connection attempt without repeating any secret. */
  #dialFailure(err: Error & { level?: string; code?: string }, offeredKey: Buffer | undefined, settings: DialSettings): DialFailure {
    const c = this.#connection;
    const pinned = this.#pinnedKey;
    if (err.level === "client-authentication") {
      const agentFromEnv = c.agentSocketPath === undefined && settings.agent !== undefined;
      const tried = [c.privateKey && "privateKey", c.password && "password", c.agentSocketPath && "agentSocketPath", agentFromEnv && "the keys of the SSH agent at SSH_AUTH_SOCK"];
      return { reason: `authentication failed for user ${c.user ?? "root"}: check ${tried.filter(Boolean).join("/")}`, transient: false };
    }
    if (err.level === "agent") {
      const source = c.agentSocketPath === undefined ? "SSH_AUTH_SOCK" : "agentSocketPath";
      return { reason: `cannot use the SSH agent at ${settings.agent} (${source}): ${this.#redact(err.message)}`, transient: false };
    }
    if (pinned !== undefined && offeredKey !== undefined && !offeredKey.equals(pinned.blob)) {
      return {
        reason: `host key mismatch: expected ${fingerprint(pinned.blob)}, got ${fingerprint(offeredKey)}; if the server's key changed on purpose, update hostKey`,
        transient: false,
      };
    }
    if (err.level === "client-timeout") {
      return { reason: `no SSH handshake within ${settings.readyTimeoutMs / 1000} s`, transient: true };
    }
    const network = err.code === undefined ? undefined : TRANSIENT_NETWORK_ERRORS[err.code];
    if (network !== undefined) return { reason: network, transient: true };
    // sshd drops connections beyond MaxStartups before its banner: a passing overload.
    if (/Connection lost before handshake/.test(err.message)) return { reason: "the server closed the connection during the handshake", transient: true };
    return { reason: `SSH connection failed: ${this.#redact(err.message)}`, transient: false };
  }

  /** Replaces every secret of the connection in text that came from elsewhere. */
  #redact(text: string): string {
    const { password, privateKey, privateKeyPassword } = this.#connection;
    return [password, privateKey, privateKeyPassword].reduce<string>((t, s) => (s ? t.replaceAll(s, "[secret]") : t), text);
  }

  /** Waits, spending the budget, until fewer than `MAX_CHANNELS` commands run. */
  async #takeChannelSlot(program: string, budget: TimeBudget): Promise<void> {
    if (this.#openChannels < MAX_CHANNELS) {
      this.#openChannels += 1;
      return;
    }
    let handOver!: () => void;
    const handed = new Promise<void>((resolve) => (handOver = resolve));
    this.#waitingForChannel.push(handOver);
    await budget.wait(handed, () => {
      // Still queued: a slot handed over settles `handed` before any timer can fire.
      this.#waitingForChannel.splice(this.#waitingForChannel.indexOf(handOver), 1);
      return this.#timedOut(program, budget, `it never started: all ${MAX_CHANNELS} sessions of the connection stayed busy`);
    });
  }

  /** Hands the slot to the next waiting command, or frees it. */
  #releaseChannelSlot(): void {
    const next = this.#waitingForChannel.shift();
    if (next !== undefined) next();
    else this.#openChannels -= 1;
  }
}

/** Why there is nothing to log in with: no `privateKey`, `password` or agent socket (given or from `SSH_AUTH_SOCK`). */
function credentialsProblem(c: Connection, settings: DialSettings): string | undefined {
  if (c.privateKey !== undefined || c.password !== undefined || settings.agent !== undefined) return undefined;
  return "no credentials to log in with: set privateKey, password or agentSocketPath, or run the program with SSH_AUTH_SOCK pointing at an SSH agent";
}

/**
 * Why a private key cannot be used, in fixed words: ssh2's own messages may
 * quote decoded bytes of whatever was pasted into `privateKey`.
 */
function privateKeyProblem(privateKey: string | undefined, passphrase: string | undefined): string | undefined {
  if (privateKey === undefined) return undefined;
  const parsed = utils.parseKey(privateKey, passphrase);
  if (!(parsed instanceof Error)) return undefined;
  if (/no passphrase given/.test(parsed.message)) return "privateKey is encrypted: set privateKeyPassword";
  return passphrase === undefined ? "privateKey is not an OpenSSH or PEM private key" : "privateKeyPassword does not decrypt privateKey, or privateKey is not an OpenSSH or PEM private key";
}

/** The pause after failed connection attempt number `attempt`. */
function dialPauseMs(attempt: number): number {
  return Math.min(200 * attempt, 2000);
}

/**
 * Ends a connection politely and resolves once its socket has closed,
 * destroying the socket if the server has not answered within
 * `CLOSE_GRACE_MS` (it never will once the network is gone).
 */
function shutDown({ client, socket }: SshConnection): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    client.end();
  });
}

/** Opens an exec channel on `client`. */
function openExecChannel(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)));
    } catch (err) {
      reject(err); // ssh2 throws "Not connected" when the socket is already gone
    }
  });
}

/**
 * Reads `"ssh-ed25519 AAAA… comment"` (a `known_hosts` line without the host
 * name; the bare base64 blob or a full `known_hosts` line work too).
 */
function parseHostKey(text: string): PinnedKey {
  const base64 = text.trim().split(/\s+/).find((t) => /^AAAA[A-Za-z0-9+/]+={0,2}$/.test(t));
  const blob = Buffer.from(base64 ?? "", "base64");
  const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + typeLength).toString("latin1");
  if (typeLength === 0 || 4 + typeLength > blob.length || !/^[a-z0-9][a-z0-9@.-]*$/.test(type)) {
    throw new ValidationError([
      { path: ["connection", "hostKey"], message: "is not an OpenSSH public key; expected a line like `ssh-ed25519 AAAA… comment`" },
    ]);
  }
  return { blob, type };
}

/** The host key algorithms that make the server present a key of `type`. */
function hostKeyAlgorithms(type: string): ServerHostKeyAlgorithm[] {
  const algorithms = type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
  return algorithms as ServerHostKeyAlgorithm[];
}

/** OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64. */
function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The number of a signal such as `SIGKILL` (0 when unknown). */
function signalNumber(name: string | undefined): number {
  return (constants.signals as Readonly<Record<string, number>>)[name ?? ""] ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
