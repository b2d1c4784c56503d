/**
 * How to reach a remote host: the shape of `@pulumi/command`'s
 * `remote.Connection`, so the object a program already passes to
 * `command.remote.Command` works here unchanged, plus `sudo`.
 */
export interface Connection {
  /** Address or name of the remote host. */
  readonly host: string;
  /**
   * SSH port.
   * @default 22
   */
  readonly port?: number;
  /**
   * User to log in as.
   * @default "root"
   */
  readonly user?: string;
  /** Password, for password authentication. Kept secret in state. */
  readonly password?: string;
  /** Private key in OpenSSH or PEM format. Kept secret in state. */
  readonly privateKey?: string;
  /** Passphrase of an encrypted `privateKey`. Kept secret in state. */
  readonly privateKeyPassword?: string;
  /**
   * Path of an SSH agent's socket, for agent authentication. When none of
   * `privateKey`, `password` and `agentSocketPath` is set, the agent at the
   * provider's `SSH_AUTH_SOCK` environment variable is used, as
   * `@pulumi/command` does; without that either, connecting fails.
   */
  readonly agentSocketPath?: string;
  /**
   * The server's expected public host key (`ssh-ed25519 AAAA…`, as in
   * `known_hosts` without the host name). When set, any other key is refused.
   */
  readonly hostKey?: string;
  /**
   * How many times to try to connect before giving up (1 to 100). `-1`,
   * which means unlimited in `@pulumi/command`, gives 100 attempts here: with
   * the pause between attempts growing to 2 s, that is several minutes.
   *
   * With `perDialTimeout`, this bounds how long an unreachable host takes to
   * fail: at most `dialErrorLimit` × `perDialTimeout` plus the pauses
   * between attempts (0.2 s, growing by 0.2 s up to 2 s): about 159 s with
   * the defaults. Lower both to fail sooner: `dialErrorLimit: 3,
   * perDialTimeout: 5` give up after about 15.6 s at most. A connection lost later is
   * redialled within the same bound.
   * @default 10
   */
  readonly dialErrorLimit?: number;
  /**
   * Seconds allowed for each connection attempt, from the TCP connect to the
   * end of authentication (1 to 600). `0`, which means no maximum in
   * `@pulumi/command`, allows 600 s (10 minutes) here. See
   * `dialErrorLimit` for how long an unreachable host takes to fail.
   * @default 15
   */
  readonly perDialTimeout?: number;
  /**
   * Run every command through `sudo -n` (for a non-root user with
   * passwordless sudo).
   * @default false
   */
  readonly sudo?: boolean;
}
