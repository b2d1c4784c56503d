import { createHash } from "node:crypto";
import { constants } from "node:os";
import { Client, utils, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from "ssh2";
import type { Connection } from "../connection";
import { HostError, ValidationError } from "../errors";
import { readFileByExec, writeFileByExec } from "./file-commands";
import { DEFAULT_EXEC_TIMEOUT_MS, type ExecOptions, type ExecResult, type Host } from "./host";
import { shellQuote } from "./shell-quote";

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
 * A remote machine reached over SSH. One connection is opened on the first
 * `exec` and shared by every later one (each command gets its own channel,
 * so commands may run concurrently); if it drops, the next `exec` opens a new
 * one. Every command is sent as a single-quoted command line, so the remote
 * login shell, which must be a POSIX shell, runs exactly the argv given.
 *
 * The connection settings live in a private field: neither `JSON.stringify`,
 * `util.inspect` nor any error message shows a password or key.
 */
export class SshHost implements Host {
  /** `user@host:port` (IPv6 addresses in brackets). */
  readonly name: string;
  readonly #connection: Connection;
  readonly #pinnedKey?: PinnedKey;
  #client?: Client;
  #dialing?: Promise<Client>;
  #closed = false;
  #execCount = 0;
  #openChannels = 0;
  readonly #waitingForChannel: (() => void)[] = [];

  /**
   * Connects lazily: nothing happens until the first `exec`.
   * @throws ValidationError when `connection.hostKey` is not an OpenSSH public key
   */
  constructor(connection: Connection) {
    this.#connection = connection;
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
   * Rejects with `HostError` when the host cannot be reached or logged into,
   * the command times out, or the connection drops while it runs.
   *
   * A timeout closes the command's channel but cannot kill the command:
   * OpenSSH ignores SSH `signal` requests on root logins, and a user's signal
   * could not reach a command run by sudo. A command that must not outlive
   * its caller needs its own bound (e.g. `iptables-restore -w SECONDS`).
   */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const command = shellQuote(this.#connection.sudo ? ["sudo", "-n", "--", ...argv] : argv);
    await this.#takeChannelSlot();
    try {
      const channel = await this.#startCommand(command, argv[0]);
      this.#execCount += 1;
      return await this.#collect(channel, argv[0], options.stdin ?? "", options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS);
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

  /** Ends the connection, waiting until it is closed; later calls to `exec` reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client ?? (await this.#dialing?.catch(() => undefined));
    if (client === undefined || this.#client !== client) return;
    this.#client = undefined;
    await new Promise<void>((resolve) => client.once("close", () => resolve()).end());
  }

  /**
   * Opens a channel running `command`. Until it opens the command has not
   * started, so a failure is retried: on a new connection when this one died,
   * after a pause when sshd had no session free (it still counts sessions
   * whose close is in flight against `MaxSessions`).
   */
  async #startCommand(command: string, program: string): Promise<ClientChannel> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#connect();
      try {
        return await openExecChannel(client, command);
      } catch (err) {
        const connectionDied = this.#client !== client;
        const refused = typeof (err as { reason?: unknown }).reason === "number";
        if (attempt >= CHANNEL_OPEN_ATTEMPTS || !(connectionDied || refused)) {
          throw new HostError(this.name, `cannot start \`${program}\`: ${this.#redact(errorMessage(err))}`);
        }
        if (refused) await sleep(50 * attempt);
      }
    }
  }

  /** Sends stdin, gathers output and resolves when the command exits. */
  #collect(channel: ClientChannel, program: string, stdin: string, timeoutMs: number): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const timer = setTimeout(() => {
        reject(new HostError(this.name, `\`${program}\` did not finish within ${timeoutMs} ms`));
        channel.close();
      }, timeoutMs);
      channel.on("data", (d: Buffer) => stdout.push(d));
      channel.stderr.on("data", (d: Buffer) => stderr.push(d));
      // ssh2 passes the exit status, or null and the signal's name, or nothing when the connection dropped.
      channel.on("close", (code?: number | null, signal?: string) => {
        clearTimeout(timer);
        if (code === undefined) {
          reject(new HostError(this.name, `the connection dropped while \`${program}\` ran; it may or may not have taken effect`));
          return;
        }
        resolve({
          code: code ?? 128 + signalNumber(signal),
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
        });
      });
      channel.end(stdin);
    });
  }

  /** The live connection, dialling one (shared by concurrent callers) when there is none. */
  #connect(): Promise<Client> {
    if (this.#closed) return Promise.reject(new HostError(this.name, "this host was closed and can no longer run commands"));
    if (this.#client !== undefined) return Promise.resolve(this.#client);
    this.#dialing ??= this.#dial().finally(() => (this.#dialing = undefined));
    return this.#dialing;
  }

  /**
   * Dials up to `dialErrorLimit` times (see {@link dialSettings}), with a
   * growing pause, retrying only transient network failures.
   */
  async #dial(): Promise<Client> {
    const settings = dialSettings(this.#connection);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#dialOnce(settings);
      } catch (err) {
        const failure = err as DialFailure;
        if (!failure.transient) throw new HostError(this.name, failure.reason);
        if (attempt >= settings.attempts) {
          throw new HostError(this.name, `cannot reach the SSH server: ${failure.reason} (after ${attempt} attempt${attempt === 1 ? "" : "s"})`);
        }
        await sleep(Math.min(200 * attempt, 2000));
      }
    }
  }

  /** One connection attempt; rejects with a `DialFailure`. */
  #dialOnce(settings: DialSettings): Promise<Client> {
    const c = this.#connection;
    const pinned = this.#pinnedKey;
    const client = new Client();
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
      const forget = () => {
        if (this.#client === client) this.#client = undefined;
      };
      client.on("ready", () => {
        ready = true;
        this.#client = client;
        resolve(client);
      });
      client.on("error", (err: Error & { level?: string; code?: string }) => {
        forget();
        if (!ready) reject(this.#dialFailure(err, offeredKey, settings));
      });
      client.on("end", forget);
      client.on("close", () => {
        forget();
        reject({ reason: "the server closed the connection during the handshake", transient: true } satisfies DialFailure);
      });
      const problem = credentialsProblem(c, settings) ?? privateKeyProblem(c.privateKey, c.privateKeyPassword);
      if (problem !== undefined) {
        reject({ reason: problem, transient: false } satisfies DialFailure);
        return;
      }
      try {
        client.connect(config);
      } catch (err) {
        reject({ reason: `cannot use the connection settings: ${this.#redact(errorMessage(err))}`, transient: false } satisfies DialFailure);
      }
    });
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

  async #takeChannelSlot(): Promise<void> {
    if (this.#openChannels < MAX_CHANNELS) this.#openChannels += 1;
    else await new Promise<void>((resolve) => this.#waitingForChannel.push(resolve));
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
