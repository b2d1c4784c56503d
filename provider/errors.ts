import type { FamilyOutcome } from "./apply-outcome";
import type { Family } from "./family";

/**
 * The errors the engine throws. Every failure that reaches a user is one of
 * these, so callers can branch on the class and users read a message that
 * names the host, the command and the fix.
 */

/** A problem found in user input, with the property path it belongs to. */
export interface ValidationIssue {
  /** Property path, e.g. `["allowFrom", 2]` or `["connection", "port"]`. */
  readonly path: readonly (string | number)[];
  /** What is wrong, in words a user can act on. */
  readonly message: string;
}

/** Base class of every error the engine throws. */
export class FirewallError extends Error {
  override readonly name: string = "FirewallError";
}

/** User input is invalid; nothing was sent to any host. */
export class ValidationError extends FirewallError {
  override readonly name = "ValidationError";

  /** @param issues every problem found, not just the first */
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(
      "invalid input:\n" +
        issues.map((i) => `  ${formatPath(i.path) || "(root)"}: ${i.message}`).join("\n"),
    );
  }
}

/** The host could not be used at all: unreachable, refused us, lacks a tool, or we lack rights. */
export class HostError extends FirewallError {
  override readonly name = "HostError";

  /**
   * @param host the host's display name (never a secret)
   * @param reason what went wrong and how to fix it
   */
  constructor(
    readonly host: string,
    readonly reason: string,
  ) {
    super(`${host}: ${reason}`);
  }
}

/** A command ran on a host and failed. */
export class CommandError extends FirewallError {
  override readonly name: string = "CommandError";

  /**
   * @param host the host's display name
   * @param argv the command (no secret ever travels in argv)
   * @param code its exit code
   * @param stderr what it printed on standard error
   */
  constructor(
    readonly host: string,
    readonly argv: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`${host}: \`${argv.join(" ")}\` exited with ${code}${stderr.trim() ? `: ${stderr.trim()}` : ""}`);
  }
}

/** iptables-restore rejected the transaction; the host was left as it was. */
export class RestoreError extends CommandError {
  override readonly name = "RestoreError";

  /**
   * @param failedLine the restore input line iptables named, when it named one
   */
  constructor(
    host: string,
    argv: readonly string[],
    code: number,
    stderr: string,
    readonly failedLine?: string,
  ) {
    super(host, argv, code, stderr);
    if (failedLine !== undefined) this.message += `\n  rejected line: ${failedLine}`;
  }
}

/**
 * Applying a transaction failed after it may have changed the host (a
 * restore that failed after its test passed, a rollback that failed, the
 * command killed or its connection lost): the host was read back, and the
 * message says what each family holds now. Applying again converges.
 */
export class TransactionError extends FirewallError {
  override readonly name = "TransactionError";

  /**
   * @param host the host's display name
   * @param failure what failed, as the apply command or the transport told it
   * @param outcomes per family the transaction changed, what the host holds now; `undefined` when it could not be read back
   * @param readBackFailure why reading back failed, when it did
   */
  constructor(
    readonly host: string,
    readonly failure: string,
    readonly outcomes: Readonly<Partial<Record<Family, FamilyOutcome>>> | undefined,
    readBackFailure?: string,
  ) {
    super(
      `${host}: ${failure}; ` +
        (outcomes
          ? `read back afterwards: ${Object.entries(outcomes).map(([f, o]) => `${f} ${o}`).join(", ")}`
          : `reading the firewall back failed too (${readBackFailure ?? "no answer"}), so what it holds now is unknown`) +
        "; applying again (`pulumi up`) reads the host afresh and converges",
    );
  }
}

/** `iptables-save` printed something the parser cannot read. */
export class SaveParseError extends FirewallError {
  override readonly name = "SaveParseError";

  /**
   * @param lineNumber 1-based line number in the save output
   * @param line the offending line
   * @param reason what the parser expected
   */
  constructor(
    readonly lineNumber: number,
    readonly line: string,
    readonly reason: string,
  ) {
    super(`iptables-save line ${lineNumber}: ${reason}: ${line}`);
  }
}

/** Renders a property path the way users write it: `allowFrom[2]`, `connection.port`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}
