import { createHash } from "node:crypto";
import { DOCKER_USER } from "./docker-user-chain";
import type { Family } from "./family";
import { backendSuffix, type Backend } from "./iptables/backend";
import { findTable, ruleLine, type Ruleset } from "./iptables/ruleset";

/**
 * The two commands the engine runs on a host: one reads both families'
 * rulesets, one applies a transaction. Each is a fixed `sh` script; inputs
 * travel only as positional arguments and standard input, never spliced into
 * script text. Sections of input and output are introduced by `#@pdf ipv4`
 * / `#@pdf ipv6` lines.
 */

/** Exit codes of the apply script, so the session can tell failures apart. */
export const APPLY_EXIT = {
  /** The chain changed since it was read (another process or Docker); read again and retry. */
  conflict: 75,
  /** `iptables-restore --test` rejected the ipv4 or ipv6 input; nothing was changed. */
  rejected: { ipv4: 65, ipv6: 66 } as Record<Family, number>,
  /** The real restore failed after its test passed; the host was rolled back. */
  failed: { ipv4: 67, ipv6: 68 } as Record<Family, number>,
  /** Timed out waiting for the host lock held by another process. */
  lockTimeout: 71,
} as const;

/** Where the host-side lock lives; `flock` on it serializes processes that write DOCKER-USER. */
export const HOST_LOCK_PATH = "/run/pulumi-docker-firewall.lock";

/** Seconds to wait for another process's transaction. */
const LOCK_WAIT_SECONDS = 60;

const SECTION = /^#@pdf (ipv4|ipv6)$/;

/** Prints the named tables of both families; `$1` is the backend suffix, the rest are table names. */
const PRINT_TABLES = `for f in 4 6; do
  printf '#@pdf ipv%s\\n' "$f"
  for t in "$@"; do "ip\${f#4}tables$s-save" -t "$t" || exit 69; done
done`;

const READ_SCRIPT = `s=$1
shift
${PRINT_TABLES}`;

const APPLY_SCRIPT = `set -u
lock=$1 s=$2 fp4=$3 fp6=$4
shift 4
exec 9>>"$lock" || exit 70
flock -w ${LOCK_WAIT_SECONDS} 9 || { echo "waited ${LOCK_WAIT_SECONDS} s for $lock: another process is changing this firewall" >&2; exit ${APPLY_EXIT.lockTimeout}; }
d=$(mktemp -d) || exit 70
trap 'rm -rf "$d"' EXIT
awk -v d="$d" '/^#@pdf ipv[46]$/ { f = d "/" $2; next } f { print > f }' || exit 70
fp() { "$1$s-save" -t filter | grep -E '^(:${DOCKER_USER} |-A ${DOCKER_USER} |-A FORWARD (.* )?-j ${DOCKER_USER}$)' | sed 's/ \\[[0-9]*:[0-9]*\\]$//' | sha256sum | cut -c1-64; }
[ ! -e "$d/ipv4" ] || [ "$(fp iptables)" = "$fp4" ] || exit ${APPLY_EXIT.conflict}
[ ! -e "$d/ipv6" ] || [ "$(fp ip6tables)" = "$fp6" ] || exit ${APPLY_EXIT.conflict}
[ ! -e "$d/ipv4" ] || "iptables$s-restore" -w --noflush --test "$d/ipv4" || exit ${APPLY_EXIT.rejected.ipv4}
[ ! -e "$d/ipv6" ] || "ip6tables$s-restore" -w --noflush --test "$d/ipv6" || exit ${APPLY_EXIT.rejected.ipv6}
if [ -e "$d/ipv4" ]; then
  "iptables$s-save" -c -t filter > "$d/undo" || exit 70
  "iptables$s-restore" -w --noflush "$d/ipv4" || exit ${APPLY_EXIT.failed.ipv4}
fi
if [ -e "$d/ipv6" ] && ! "ip6tables$s-restore" -w --noflush "$d/ipv6"; then
  [ ! -e "$d/undo" ] || "iptables$s-restore" -w -c -T filter "$d/undo"
  exit ${APPLY_EXIT.failed.ipv6}
fi
${PRINT_TABLES}`;

/**
 * A table the engine reads: `filter` holds DOCKER-USER; `nat` holds Docker's
 * published ports. Reading only what is needed keeps a read small on hosts
 * with huge tables (Kubernetes' nat).
 */
export type TableName = "filter" | "nat";

/** The argv that prints the given tables of both families. */
export function readCommand(backend: Backend, tables: readonly TableName[]): string[] {
  return ["sh", "-c", READ_SCRIPT, "sh", backendSuffix(backend), ...tables];
}

/**
 * The argv that applies restore inputs under the host lock, after checking
 * that each changed family's DOCKER-USER still has the fingerprint it had
 * when read, testing every input first, and rolling ipv4 back if ipv6 fails.
 * It prints the given tables of both families afterwards, so verifying costs
 * no extra round trip.
 */
export function applyCommand(backend: Backend, fingerprints: Record<Family, string>, tables: readonly TableName[], lockPath = HOST_LOCK_PATH): string[] {
  return ["sh", "-c", APPLY_SCRIPT, "sh", lockPath, backendSuffix(backend), fingerprints.ipv4, fingerprints.ipv6, ...tables];
}

/** The standard input of the apply command: each family's restore input in its section. */
export function applyInput(inputs: Record<Family, string>): string {
  return (["ipv4", "ipv6"] as const)
    .filter((f) => inputs[f] !== "")
    .map((f) => `#@pdf ${f}\n${inputs[f]}`)
    .join("");
}

/** Splits the read (or apply) command's output into each family's save text. */
export function splitSections(output: string): Record<Family, string> | undefined {
  const sections: Partial<Record<Family, string[]>> = {};
  let current: string[] | undefined;
  for (const line of output.split("\n")) {
    const m = SECTION.exec(line);
    if (m) sections[m[1] as Family] = current = [];
    else current?.push(line);
  }
  if (!sections.ipv4 || !sections.ipv6) return undefined;
  // Each section but the last swallowed the newline that preceded the next header.
  const v4 = sections.ipv4;
  return { ipv4: v4.length > 0 ? v4.join("\n") + "\n" : "", ipv6: sections.ipv6.join("\n") };
}

/**
 * What the apply script hashes: the DOCKER-USER declaration (without
 * counters), its rules and FORWARD's jumps to it, in save order.
 */
export function fingerprint(ruleset: Ruleset): string {
  const filter = findTable(ruleset, "filter");
  const lines = [
    ...(filter?.chains.filter((c) => c.name === DOCKER_USER).map((c) => `:${c.name} ${c.policy}`) ?? []),
    ...(filter?.rules.map(ruleLine).filter((l) => l.startsWith(`-A ${DOCKER_USER} `) || (l.startsWith("-A FORWARD ") && l.endsWith(` -j ${DOCKER_USER}`))) ?? []),
  ];
  return createHash("sha256")
    .update(lines.map((l) => `${l}\n`).join(""))
    .digest("hex");
}
