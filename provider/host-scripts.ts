import { DOCKER_USER } from "./docker-user-chain";
import { FAMILIES, type Family } from "./family";
import { backendSuffix, type Backend } from "./iptables/backend";

/**
 * The two commands the engine runs on a host: one reads both families'
 * tables, one applies a transaction. Each is a fixed `sh` script; inputs
 * travel only as positional arguments (enums, hashes, a constant path) and
 * standard input, never spliced into script text. Output and input come in
 * sections introduced by `#@pdf ipv4` / `#@pdf ipv6` lines.
 *
 * The host, not the engine, fingerprints DOCKER-USER (its declaration, its
 * rules and FORWARD's jumps to it, counters aside): the read prints the
 * fingerprint, and the apply refuses to run when it no longer matches, so
 * nothing has to re-create iptables' exact output byte for byte.
 */

/** Exit codes of the apply script, so the session can tell failures apart. */
export const APPLY_EXIT = {
  /** The chain changed since it was read (another process or Docker); read again and retry. */
  conflict: 75,
  /** `iptables-restore --test` rejected the ipv4 or ipv6 input; nothing was changed. */
  rejected: { ipv4: 65, ipv6: 66 } as Record<Family, number>,
  /** The real restore failed after its test passed; ipv4 failing changed nothing, ipv6 failing rolled ipv4 back. */
  failed: { ipv4: 67, ipv6: 68 } as Record<Family, number>,
  /** ipv6 failed and rolling ipv4 back failed too: ipv4 holds the new rules. */
  rollbackFailed: 72,
  /** Reading a table failed (the tool's own message is on stderr). */
  readFailed: 69,
  /** Timed out waiting for the host lock held by another process. */
  lockTimeout: 71,
  /** `flock`, `mktemp` or another basic tool is missing or failed. */
  setupFailed: 70,
} as const;

/** Where the host-side lock lives; `flock` on it serializes processes that write DOCKER-USER. */
export const HOST_LOCK_PATH = "/run/pulumi-docker-firewall.lock";

/** Seconds to wait for another process's transaction, and for the xtables lock. */
const LOCK_WAIT_SECONDS = 60;
const XTABLES_WAIT_SECONDS = 30;

const SECTION = /^#@pdf (ipv4|ipv6)$/;
const FINGERPRINT = /^#@pdf fingerprint ([0-9a-f]{64})$/;
const UNAVAILABLE = "#@pdf unavailable";

// `s` is the backend suffix ("", "-nft", "-legacy"); `f` is the family, 4 or 6,
// and "ip${f#4}tables" is iptables for 4 and ip6tables for 6.
const FINGERPRINT_FUNCTION = `fp() {
  saved=$("ip\${1#4}tables$s-save" -t filter) || exit ${APPLY_EXIT.readFailed}
  printf '%s\\n' "$saved" | grep -E '^(:${DOCKER_USER} |-A ${DOCKER_USER} |-A FORWARD (.* )?-j ${DOCKER_USER}$)' | sed 's/ \\[[0-9]*:[0-9]*\\]$//' | sha256sum | cut -c1-64
}`;

/**
 * Prints the named tables ("$@") of both families, each followed by its
 * fingerprint. A host without a usable ip6tables (IPv6 disabled, the tool
 * missing) says so instead of failing: IPv4-only work goes on there.
 */
const PRINT_TABLES = `for f in 4 6; do
  printf '#@pdf ipv%s\\n' "$f"
  if [ "$f" = 6 ] && ! "ip6tables$s-save" -t filter > /dev/null 2>&1; then printf '#@pdf unavailable\\n'; continue; fi
  for t in "$@"; do "ip\${f#4}tables$s-save" -t "$t" || exit ${APPLY_EXIT.readFailed}; done
  h=$(fp "$f") || exit ${APPLY_EXIT.readFailed}
  printf '#@pdf fingerprint %s\\n' "$h"
done`;

const READ_SCRIPT = `s=$1
shift
${FINGERPRINT_FUNCTION}
${PRINT_TABLES}`;

// `d` holds this transaction's files: the restore inputs ipv4/ipv6 (split
// from stdin) and the ipv4 filter table saved for a rollback.
const APPLY_SCRIPT = `set -u
lock=$1 s=$2 fp4=$3 fp6=$4
shift 4
command -v flock > /dev/null || { echo "flock is not installed (Debian: apt-get install util-linux)" >&2; exit ${APPLY_EXIT.setupFailed}; }
exec 9>>"$lock" || exit ${APPLY_EXIT.setupFailed}
flock -w ${LOCK_WAIT_SECONDS} 9 || { echo "waited ${LOCK_WAIT_SECONDS} s for $lock: another process is changing this firewall" >&2; exit ${APPLY_EXIT.lockTimeout}; }
d=$(mktemp -d) || exit ${APPLY_EXIT.setupFailed}
trap 'rm -rf "$d"' EXIT
awk -v d="$d" '/^#@pdf ipv[46]$/ { f = d "/" $2; next } f { print > f }' || exit ${APPLY_EXIT.setupFailed}
${FINGERPRINT_FUNCTION}
for f in 4 6; do
  [ -e "$d/ipv$f" ] || continue
  want=$fp4
  [ "$f" = 4 ] || want=$fp6
  h=$(fp "$f") || exit ${APPLY_EXIT.readFailed}
  [ "$h" = "$want" ] || exit ${APPLY_EXIT.conflict}
done
[ ! -e "$d/ipv4" ] || "iptables$s-restore" -w ${XTABLES_WAIT_SECONDS} --noflush --test "$d/ipv4" || exit ${APPLY_EXIT.rejected.ipv4}
[ ! -e "$d/ipv6" ] || "ip6tables$s-restore" -w ${XTABLES_WAIT_SECONDS} --noflush --test "$d/ipv6" || exit ${APPLY_EXIT.rejected.ipv6}
if [ -e "$d/ipv4" ]; then
  "iptables$s-save" -c -t filter > "$d/undo" || exit ${APPLY_EXIT.readFailed}
  "iptables$s-restore" -w ${XTABLES_WAIT_SECONDS} --noflush "$d/ipv4" || exit ${APPLY_EXIT.failed.ipv4}
fi
if [ -e "$d/ipv6" ] && ! "ip6tables$s-restore" -w ${XTABLES_WAIT_SECONDS} --noflush "$d/ipv6"; then
  [ ! -e "$d/undo" ] || "iptables$s-restore" -w ${XTABLES_WAIT_SECONDS} -c -T filter "$d/undo" || exit ${APPLY_EXIT.rollbackFailed}
  exit ${APPLY_EXIT.failed.ipv6}
fi
${PRINT_TABLES}`;

/**
 * A table the engine reads: `filter` holds DOCKER-USER; `nat` holds Docker's
 * published ports. Reading only what is needed keeps a read small on hosts
 * with huge tables (Kubernetes' nat).
 */
export type TableName = "filter" | "nat";

/** A command's argv and the short name it goes by in messages. */
export interface HostCommand {
  readonly argv: string[];
  /** What the command does, for messages (the argv holds a whole script). */
  readonly label: string;
}

/** The command that prints the given tables of both families, with their fingerprints. */
export function readCommand(backend: Backend, tables: readonly TableName[]): HostCommand {
  return { argv: ["sh", "-c", READ_SCRIPT, "sh", backendSuffix(backend), ...tables], label: `iptables${backendSuffix(backend)}-save (reading ${tables.join(", ")})` };
}

/**
 * The command that applies restore inputs under the host lock, after checking
 * that each changed family's DOCKER-USER still has the fingerprint it had
 * when read, testing every input first, and rolling ipv4 back if ipv6 fails.
 * It prints the given tables of both families afterwards, so verifying costs
 * no extra round trip.
 */
export function applyCommand(backend: Backend, fingerprints: Record<Family, string>, tables: readonly TableName[], lockPath = HOST_LOCK_PATH): HostCommand {
  return {
    argv: ["sh", "-c", APPLY_SCRIPT, "sh", lockPath, backendSuffix(backend), fingerprints.ipv4, fingerprints.ipv6, ...tables],
    label: `iptables${backendSuffix(backend)}-restore (applying a transaction)`,
  };
}

/** The standard input of the apply command: each family's restore input in its section. */
export function applyInput(inputs: Record<Family, string>): string {
  return FAMILIES.filter((f) => inputs[f] !== "")
    .map((f) => `#@pdf ${f}\n${inputs[f]}`)
    .join("");
}

/** One family's part of the read (or apply) command's output. */
export interface FamilyOutput {
  /** What iptables-save printed for the tables read. */
  readonly save: string;
  /** The host's fingerprint of DOCKER-USER; `undefined` when the family's iptables cannot be used on the host. */
  readonly fingerprint?: string;
}

/** Splits the read (or apply) command's output into each family's save text and fingerprint. */
export function splitSections(output: string): Record<Family, FamilyOutput> | undefined {
  const lines: Partial<Record<Family, string[]>> = {};
  const fingerprints: Partial<Record<Family, string>> = {};
  let current: Family | undefined;
  for (const line of output.split("\n")) {
    const section = SECTION.exec(line);
    const hash = FINGERPRINT.exec(line);
    if (section) lines[(current = section[1] as Family)] = [];
    else if ((hash || line === UNAVAILABLE) && current) {
      if (hash) fingerprints[current] = hash[1];
      current = undefined;
    } else if (current) lines[current]!.push(line);
  }
  // IPv4 must be readable; IPv6 may be unavailable on the host.
  if (!lines.ipv4 || !lines.ipv6 || !fingerprints.ipv4) return undefined;
  const part = (f: Family): FamilyOutput => ({ save: lines[f]!.length > 0 ? lines[f]!.join("\n") + "\n" : "", fingerprint: fingerprints[f] });
  return { ipv4: part("ipv4"), ipv6: part("ipv6") };
}
