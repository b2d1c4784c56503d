/** Options for one command run on a host. */
export interface ExecOptions {
  /** Text written to the command's standard input, which is then closed. */
  readonly stdin?: string;
  /**
   * Milliseconds before the call fails with a `HostError`. A local command is
   * killed then; over SSH the channel is closed, but the remote command may
   * run on, so commands bound their own waits.
   * @default 60000
   */
  readonly timeoutMs?: number;
}

/** What a finished command left behind. */
export interface ExecResult {
  /** Exit code; 0 means success. */
  readonly code: number;
  /** Everything the command printed on standard output. */
  readonly stdout: string;
  /** Everything the command printed on standard error. */
  readonly stderr: string;
}

/**
 * A machine whose firewall we manage. The engine talks to hosts only through
 * this interface; local and SSH transports implement it, tests add a fake.
 */
export interface Host {
  /** Display name for messages and logs, e.g. `local` or `root@203.0.113.5:22`; never holds a secret. */
  readonly name: string;
  /**
   * Runs `argv` (no shell is involved unless argv names one) and resolves
   * with its exit code and output; a non-zero exit resolves too. Rejects with
   * `HostError` when the command could not be run at all or timed out.
   */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Reads a whole text file; resolves `undefined` when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Replaces a text file atomically (write to a temporary file, then rename). */
  writeFile(path: string, content: string): Promise<void>;
  /** Releases connections; the host may not be used afterwards. */
  close(): Promise<void>;
}

/** The default command timeout, in milliseconds. */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
