/** Options for one command run on a host. */
export interface ExecOptions {
  /** Text written to the command's standard input, which is then closed. */
  readonly stdin?: string;
  /**
   * Milliseconds before the command is killed and the call fails.
   * @default 60000
   */
  readonly timeoutMs?: number;
}

/** What a finished command left behind. */
export interface ExecResult {
  /** Exit code; 0 means success. */
  readonly code: number;
  readonly stdout: string;
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
   * `HostError` only when the command could not be run at all.
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
