import { CommandError, FirewallError, HostError, RestoreError } from "./errors";
import type { ExecResult } from "./host/host";

/**
 * Turns a failed command into the right error class. This is the one place
 * that reads stderr; each pattern says which tool or variant prints it.
 */
export function classifyCommandFailure(host: string, argv: readonly string[], result: ExecResult): FirewallError {
  const stderr = result.stderr;
  const tool = commandName(argv);

  // sh prints "not found" and exits 127 when a command is missing; sudo says "command not found".
  if (result.code === 127 || /command not found/.test(stderr)) {
    const missing = /(?:^|\s)([\w.-]+): (?:command )?not found/.exec(stderr)?.[1] ?? tool;
    return new HostError(host, `\`${missing}\` is not installed; install it (Debian: apt-get install iptables) and retry`);
  }
  // sudo -n with no NOPASSWD entry.
  if (/sudo: (a password is required|a terminal is required)/.test(stderr)) {
    return new HostError(host, "sudo asks for a password; allow this user passwordless sudo (NOPASSWD) or connect as root");
  }
  // Both iptables variants, run by a non-root user.
  if (/Permission denied \(you must be root\)|you must be root|Operation not permitted/.test(stderr)) {
    return new HostError(host, `\`${tool}\` needs root; connect as root or set \`sudo: true\``);
  }
  // iptables-restore (legacy and nft): "iptables-restore: line 7 failed" or "line 7: ..." with the offending text later.
  if (/-restore/.test(argv.join(" ")) || /-restore: line \d+ failed/.test(stderr)) {
    return new RestoreError(host, argv, result.code, stderr);
  }
  return new CommandError(host, argv, result.code, stderr);
}

/** The tool a command line runs, looking past `sudo`, `flock` and `sh -c`. */
function commandName(argv: readonly string[]): string {
  const skip = new Set(["sudo", "-n", "--", "env"]);
  const first = argv.find((a) => !skip.has(a)) ?? "";
  return first.split("/").pop() ?? first;
}
