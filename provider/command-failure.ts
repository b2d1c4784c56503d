import { CommandError, FirewallError, HostError, RestoreError } from "./errors";
import type { ExecResult } from "./host/host";

/**
 * Turns a failed command into the right error class. This is the one place
 * that reads stderr; each pattern says which tool or variant prints it.
 */
export function classifyCommandFailure(host: string, argv: readonly string[], result: ExecResult): FirewallError {
  const stderr = result.stderr;
  const tool = toolOf(stderr) ?? commandName(argv);

  // sh: "sh: 1: iptables-legacy-save: not found" (exit 127); bash and sudo: "…: command not found".
  const missing = /(?:^|\s)([\w.-]+): (?:command )?not found/.exec(stderr)?.[1];
  if (result.code === 127 || missing) {
    return new HostError(host, `\`${missing ?? tool}\` is not installed; install it (Debian: apt-get install iptables) and retry`);
  }
  // sudo -n when the user has no NOPASSWD entry.
  if (/sudo: (a password is required|a terminal is required)/.test(stderr)) {
    return new HostError(host, "sudo asks for a password; allow this user passwordless sudo (NOPASSWD) or connect as root");
  }
  // nf_tables: "iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)";
  // legacy: "Failed to list table names in /proc/net/ip_tables_names: Permission denied",
  //         "Fatal: can't open lock file /run/xtables.lock: Permission denied".
  if (/Permission denied|you must be root|Operation not permitted/.test(stderr)) {
    return new HostError(host, `\`${tool}\` needs root; connect as root or set \`sudo: true\` in the connection`);
  }
  if (/-restore/.test(tool)) return new RestoreError(host, argv, result.code, stderr);
  return new CommandError(host, argv, result.code, stderr);
}

/**
 * The line of restore input that iptables-restore says it rejected. Both
 * variants print "Error occurred at line: N" for a line they cannot parse;
 * legacy prints "line N failed" when the kernel refuses the table (N is then
 * often the COMMIT line), nf_tables "line N: RULE_INSERT failed (…)".
 */
export function rejectedLineNumber(stderr: string): number | undefined {
  // iptables-restore (nf_tables, legacy): "Error occurred at line: N", "line N failed", "line N: …";
  // nft -f: "/dev/stdin:N:C-D: Error: …".
  const m = /Error occurred at line: (\d+)|line (\d+) failed|line (\d+): |^[^:\n]*:(\d+):\d+(?:-\d+)?: Error:/m.exec(stderr);
  return m ? Number(m[1] ?? m[2] ?? m[3] ?? m[4]) : undefined;
}

/** The tool iptables names at the start of its messages: `iptables-save v1.8.9 (nf_tables): …`. */
function toolOf(stderr: string): string | undefined {
  return /^((?:ip6?tables|ebtables|arptables)[\w-]*)(?: v[\d.]+(?: \([\w_]+\))?)?:/m.exec(stderr)?.[1];
}

/** The command an argv runs, looking past `sudo`. */
function commandName(argv: readonly string[]): string {
  const skip = new Set(["sudo", "-n", "--"]);
  const first = argv.find((a) => !skip.has(a)) ?? "";
  return first.split("/").pop() ?? first;
}
