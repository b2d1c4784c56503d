import { classifyCommandFailure } from "./command-failure";
import { HostError } from "./errors";
import { FAMILIES, type Family } from "./family";
import type { ApplyAnswer, ApplyWork, FamilyOutput, FirewallProtocol, NftOutput, ReadOutput } from "./host-protocol";
import type { ExecResult, Host } from "./host/host";
import { backendSuffix, type Backend } from "./iptables/backend";
import { DOCKER_TABLE, OUR_TABLE } from "./nftables/names";

/**
 * The host protocol (see host-protocol.ts) as sh scripts: the two commands
 * the engine runs on a host, one reads both families' tables, one applies
 * a transaction. Each is a fixed `sh` script; inputs
 * travel only as positional arguments (enums, hashes, a constant path) and
 * standard input, never spliced into script text. Output and input come in
 * sections introduced by `#@pdf <name>` lines.
 *
 * A read saves every table of each family with one `iptables-save` (never
 * `-t TABLE`, which would create a missing table) and prints it with the
 * host's fingerprint of the same text: the filter table's declarations and
 * rules of the chains we plan against (DOCKER-USER, INPUT, FORWARD),
 * counters aside, and which tables exist. The apply refuses to run when the
 * fingerprint no longer matches, so nothing has to re-create iptables' exact
 * output byte for byte. The read also prints the listening sockets
 * (`ss -Hltunp`), which show what docker-proxy serves. Neither writes a
 * temporary file (the apply keeps its input in shell variables), so a run
 * that is killed leaves nothing behind but the lock file and, for at most a
 * few seconds, a reserved turn.
 */

/** Exit codes of the apply script, so the session can tell failures apart. */
export const APPLY_EXIT = {
  /** The chains changed since they were read (another process or Docker); stdout holds the tables as read under the host lock, to plan again against. */
  conflict: 75,
  /** `iptables-restore --test` rejected the ipv4 or ipv6 input; nothing was changed. */
  rejected: { ipv4: 65, ipv6: 66 } as Record<Family, number>,
  /** The real restore reported a failure after its test passed (for ipv6, after ipv4's part was taken back); read the host to know what it holds. */
  failed: { ipv4: 67, ipv6: 68 } as Record<Family, number>,
  /** ipv6 failed and taking ipv4's part back failed too; read the host to know what it holds. */
  rollbackFailed: 72,
  /** Reading a table failed (the tool's own message is on stderr); before the restores or after them. */
  readFailed: 69,
  /** Timed out waiting for the host lock held by another process; nothing was changed. */
  lockTimeout: 71,
  /** `flock` or another basic tool is missing or failed; nothing was changed. */
  setupFailed: 70,
  /** `nft -c` rejected our nftables script; nothing was changed. */
  nftRejected: 73,
  /** `nft -f` failed after `nft -c` passed (nothing of it applied: nft is atomic); iptables was not touched yet. */
  nftFailed: 74,
} as const;

/** Where the host-side lock lives; `flock` on it serializes processes that write the firewall. */
export const HOST_LOCK_PATH = "/run/pulumi-docker-firewall.lock";

/** Seconds to wait for another process's transaction, and for the xtables lock. */
const LOCK_WAIT_SECONDS = 60;
/** Seconds a reserved turn holds (see the apply script): long enough for a retry to be planned and sent, short enough that a process that died does not hold others up for long. */
const TURN_SECONDS = 3;
const XTABLES_WAIT_SECONDS = 30;

const SECTION = /^#@pdf (ipv4|ipv6|listeners|nft)$/;
const NFT_STATE = /^#@pdf nft (missing|no-json)$/;
const NFT_TABLE_LINE = /^#@pdf table (ip6?) (\S+)$/;
const NFT_FINGERPRINT = /^#@pdf nft-fingerprint ([0-9a-f]{64})$/;
const ABSENT = "#@pdf absent";
const FINGERPRINT = /^#@pdf fingerprint ([0-9a-f]{64})$/;
const UNAVAILABLE = "#@pdf unavailable";
const FAILED = "#@pdf failed";
/** How every line of ours in the output begins. */
const MARKER = "#@pdf ";

// `s` is the backend suffix ("", "-nft", "-legacy"); `f` is the family, 4 or 6,
// and "ip${f#4}tables" is iptables for 4 and ip6tables for 6.
//
// `save F SHOW` runs family F's iptables-save once and streams it through one
// awk, which prints it (when SHOW is 1) and feeds the lines we fingerprint
// (each table's name; the filter and mangle tables' DOCKER-USER, INPUT and
// FORWARD, counters aside) to sha256sum, whose `#@pdf fingerprint HASH` line
// follows the text (awk flushes first and waits for it). So the fingerprint is
// always of the very text printed, and the shell keeps no copy of the text. A
// failed save ends in `#@pdf failed` (after its fingerprint), and so does the
// function.
const SAVE_FUNCTION = `save() {
  { "ip\${1#4}tables$s-save" || echo '#@pdf failed'; } | awk -v show="$2" -v hash="sha256sum | sed 's/ .*//; s/^/#@pdf fingerprint /'" '
    /^#@pdf failed$/ { failed = 1; next }
    show { print }
    /^\\*/ { t = $0 }
    /^\\*/ || ((t == "*filter" || t == "*mangle") && /^(:(DOCKER-USER|INPUT|FORWARD) |-A (DOCKER-USER|INPUT|FORWARD) )/) { sub(/ \\[[0-9]*:[0-9]*\\]$/, ""); print | hash }
    END { fflush(); printf "" | hash; close(hash); if (failed) { print "#@pdf failed"; exit 1 } }'
}`;

/**
 * `print_tables` prints every table of both families, each followed by its
 * fingerprint, then the listening sockets, then what nftables holds of
 * Docker's and ours (see `print_nft`). A host without a usable ip6tables
 * (IPv6 disabled, the tool missing) says so instead of failing: IPv4-only
 * work goes on there.
 */
const PRINT_TABLES_FUNCTION = `print_tables() {
  printf '#@pdf ipv4\\n'
  save 4 1 || exit ${APPLY_EXIT.readFailed}
  printf '#@pdf ipv6\\n'
  save 6 1 2> /dev/null || printf '#@pdf unavailable\\n'
  printf '#@pdf listeners\\n'
  ss -Hltunp 2> /dev/null || true
  print_nft
}`;

// \`nft_table F NAME\` prints a table's JSON (on fd 3, the caller's output),
// or "absent" (listing a table never creates it), and "nft no-json" when nft
// cannot print JSON. Tables are listed by name only: \`nft list tables\`
// reads the whole ruleset first, which takes seconds on a host with tens of
// thousands of iptables-nft rules. \`nft_ours\` prints our own tables
// (handles included), and \`nft_fingerprint\` hashes that text: the apply
// refuses to run when it changed. \`print_nft\` says whether nft is
// installed, then prints Docker's tables and ours.
const NFT_FUNCTIONS = `nft_table() {
  printf '#@pdf table %s %s\\n' "$1" "$2"
  err=$(nft -j list table "$1" "$2" 2>&1 1>&3) && return 0
  case "$err" in *JSON*) printf '#@pdf nft no-json\\n' ;; esac
  printf '#@pdf absent\\n'
}
nft_ours() {
  exec 3>&1
  for f in ip ip6; do nft_table "$f" ${OUR_TABLE}; done
}
nft_fingerprint() { printf '%s\\n' "$1" | sha256sum | sed 's/ .*//'; }
print_nft() {
  printf '#@pdf nft\\n'
  command -v nft > /dev/null || { printf '#@pdf nft missing\\n'; return 0; }
  exec 3>&1
  for f in ip ip6; do nft_table "$f" ${DOCKER_TABLE}; done
  ours=$(nft_ours)
  printf '%s\\n' "$ours"
  printf '#@pdf nft-fingerprint %s\\n' "$(nft_fingerprint "$ours")"
}`;

// With a lock path, the read waits for the host lock first, so that it does
// not see a transaction halfway (after a failed apply, which may still run).
const READ_SCRIPT = `s=$1 lock=\${2-}
if [ -n "$lock" ]; then exec 9>>"$lock" && flock -w ${LOCK_WAIT_SECONDS} 9; fi
${SAVE_FUNCTION}
${NFT_FUNCTIONS}
${PRINT_TABLES_FUNCTION}
print_tables`;

// A transaction that found the chains changed reserves the next turn for its
// retry: its ticket and the time go in "$lock.turn" (written under the lock),
// and every other apply gives the lock back and waits until the retry took
// the turn or the turn expired. So a retry, planned against the tables the
// conflict answer printed, finds them unchanged unless a writer that does not
// take our lock (Docker, an admin) wrote meanwhile.
//
// The input (stdin) is held in a variable and each section is piped to its
// tool, so no file is written: a killed run leaves nothing behind. Sections:
// ipv4/ipv6 (restore inputs), undo4 (what takes ipv4's part back, run when
// ipv6 fails), drop4/drop6 (tables to drop, one name a line; nf_tables only,
// with \`nft\`, and only if the table still holds no rule, no chain of its own
// and no DROP policy), nft (an \`nft -f\` script for our own nftables tables,
// checked against their fingerprint, tested with \`nft -c\` with the restore
// inputs, and applied, atomically, before them).
const APPLY_SCRIPT = `set -u
lock=$1 s=$2 fp4=$3 fp6=$4 ticket=$5 fpnft=$6 turn=$1.turn
input=$(cat) || exit ${APPLY_EXIT.setupFailed}
section() { printf '%s\\n' "$input" | awk -v s="$1" '/^#@pdf [a-z0-9]+$/ { on = ($2 == s); next } on'; }
has() { printf '%s\\n' "$input" | grep -qx "#@pdf $1"; }
restore() { f=$1 text=$2; shift 2; printf '%s\\n' "$text" | "ip\${f#4}tables$s-restore" -w ${XTABLES_WAIT_SECONDS} --noflush "$@"; }
${SAVE_FUNCTION}
${NFT_FUNCTIONS}
${PRINT_TABLES_FUNCTION}
conflict() { [ -z "$ticket" ] || printf '%s %s\\n' "$ticket" "$(date +%s)" > "$turn"; print_tables; exit ${APPLY_EXIT.conflict}; }
command -v flock > /dev/null || { echo "flock is not installed (Debian: apt-get install util-linux)" >&2; exit ${APPLY_EXIT.setupFailed}; }
exec 9>>"$lock" || exit ${APPLY_EXIT.setupFailed}
lock_wait() { flock -w ${LOCK_WAIT_SECONDS} 9 || { echo "waited ${LOCK_WAIT_SECONDS} s for $lock: another process is changing this firewall" >&2; exit ${APPLY_EXIT.lockTimeout}; }; }
lock_wait
while read -r holder since < "$turn" 2> /dev/null && [ "$holder" != "$ticket" ] && [ $(($(date +%s) - since)) -lt ${TURN_SECONDS} ]; do
  flock -u 9
  sleep 0.05
  lock_wait
done
rm -f "$turn"
in4=$(section ipv4) in6=$(section ipv6) undo4=$(section undo4) innft=$(section nft)
for f in 4 6; do
  if [ "$f" = 4 ]; then work=$in4 want=$fp4; else work=$in6 want=$fp6; fi
  [ -n "$work" ] || has "drop$f" || continue
  got=$(save "$f" 0) || exit ${APPLY_EXIT.readFailed}
  [ "$got" = "#@pdf fingerprint $want" ] || conflict
done
if [ -n "$innft" ]; then
  command -v nft > /dev/null || { echo "nft is not installed (Debian: apt-get install nftables)" >&2; exit ${APPLY_EXIT.setupFailed}; }
  [ "$(nft_fingerprint "$(nft_ours)")" = "$fpnft" ] || conflict
fi
[ -z "$in4" ] || restore 4 "$in4" --test || exit ${APPLY_EXIT.rejected.ipv4}
[ -z "$in6" ] || restore 6 "$in6" --test || exit ${APPLY_EXIT.rejected.ipv6}
[ -z "$innft" ] || printf '%s\\n' "$innft" | nft -c -f - || exit ${APPLY_EXIT.nftRejected}
[ -z "$innft" ] || printf '%s\\n' "$innft" | nft -f - || exit ${APPLY_EXIT.nftFailed}
[ -z "$in4" ] || restore 4 "$in4" || exit ${APPLY_EXIT.failed.ipv4}
if [ -n "$in6" ] && ! restore 6 "$in6"; then
  [ -z "$undo4" ] || restore 4 "$undo4" || exit ${APPLY_EXIT.rollbackFailed}
  exit ${APPLY_EXIT.failed.ipv6}
fi
for f in 4 6; do
  has "drop$f" && command -v nft > /dev/null && "ip\${f#4}tables$s" -V 2> /dev/null | grep -q nf_tables || continue
  for t in $(section "drop$f"); do
    case "$t" in filter | mangle) ;; *) continue ;; esac
    "ip\${f#4}tables$s-save" -t "$t" | grep -Eq '^(-A |:[^ ]+ (-|DROP) )' && continue
    nft delete table "ip\${f#4}" "$t" 2> /dev/null
  done
done
print_tables`;

/** A command's argv and the short name it goes by in messages. */
export interface HostCommand {
  readonly argv: string[];
  /** What the command does, for messages (the argv holds a whole script). */
  readonly label: string;
}

/**
 * The command that prints every table of both families, with their
 * fingerprints, and the listening sockets. With `lockPath`, it waits for the
 * host lock first (up to a minute, then reads anyway), so that it reads no
 * other transaction halfway.
 */
export function readCommand(backend: Backend, lockPath?: string): HostCommand {
  return { argv: ["sh", "-c", READ_SCRIPT, "sh", backendSuffix(backend), ...(lockPath ? [lockPath] : [])], label: `iptables${backendSuffix(backend)}-save (reading the firewall)` };
}

/**
 * The command that applies restore inputs under the host lock, after checking
 * that each changed family still has the fingerprint it had when read
 * (when one has not, it reserves the next turn for `ticket`, prints the
 * tables as read under the lock and exits with `APPLY_EXIT.conflict`; the
 * retry passes the same ticket), testing every input first, and taking ipv4's
 * part back with the input it is given if ipv6 fails; then drops the
 * tables it was asked to (where they are empty then). It prints what the read
 * command prints afterwards, so verifying costs no extra round trip. It
 * writes no file.
 */
export function applyCommand(backend: Backend, fingerprints: Record<Family, string>, ticket = "", lockPath = HOST_LOCK_PATH, nftFingerprint = ""): HostCommand {
  return {
    argv: ["sh", "-c", APPLY_SCRIPT, "sh", lockPath, backendSuffix(backend), fingerprints.ipv4, fingerprints.ipv6, ticket, nftFingerprint],
    label: `iptables${backendSuffix(backend)}-restore (applying a transaction)`,
  };
}

/** The standard input of the apply command: each family's restore input, ipv4's undo and the tables to drop, in their sections. */
export function applyInput(work: ApplyWork): string {
  const drops = (f: Family) => (work[f].dropTables.length > 0 ? `#@pdf drop${f.slice(3)}\n${work[f].dropTables.map((t) => `${t}\n`).join("")}` : "");
  const family = (f: Family) => (work[f].restore !== "" ? `#@pdf ${f}\n${work[f].restore}` : "") + drops(f);
  return FAMILIES.map(family).join("") + (work.undoIpv4 !== "" ? `#@pdf undo4\n${work.undoIpv4}` : "") + (work.nft !== "" ? `#@pdf nft\n${work.nft}` : "");
}

/** Splits the read (or apply) command's output into each family's save text and fingerprint, and the listeners. */
function splitSections(output: string): ReadOutput | undefined {
  const lines: Partial<Record<Family | "listeners", string[]>> = {};
  const fingerprints: Partial<Record<Family, string>> = {};
  const unavailable = new Set<Family>();
  const nft = { status: "ready" as NftOutput["status"], tables: {} as Record<string, string>, fingerprint: "" };
  let current: Family | "listeners" | "nft" | undefined;
  let table: string | undefined;
  for (const line of output.split("\n")) {
    const marker = line.startsWith(MARKER);
    const section = marker ? SECTION.exec(line) : null;
    if (section) {
      current = section[1] as Family | "listeners" | "nft";
      if (current !== "nft") lines[current] = [];
    } else if (current === "nft") {
      const state = marker ? NFT_STATE.exec(line) : null;
      const named = marker ? NFT_TABLE_LINE.exec(line) : null;
      const hash = marker ? NFT_FINGERPRINT.exec(line) : null;
      if (state) nft.status = state[1] as NftOutput["status"];
      else if (named) table = `${named[1]} ${named[2]}`;
      else if (hash) nft.fingerprint = hash[1];
      else if (table && line !== ABSENT && line !== "") nft.tables[table] = line;
    } else if (current === "listeners") lines.listeners!.push(line);
    else if (current === undefined) continue;
    else if (marker && FINGERPRINT.test(line)) fingerprints[current] = FINGERPRINT.exec(line)![1];
    // A save that failed, even after printing some of its text, makes the family unavailable.
    else if (line === UNAVAILABLE || line === FAILED) unavailable.add(current);
    else if (fingerprints[current] === undefined) lines[current]!.push(line);
  }
  // IPv4 must be readable; IPv6 may be unavailable on the host.
  if (!lines.ipv4 || !lines.ipv6 || !fingerprints.ipv4 || unavailable.has("ipv4")) return undefined;
  const part = (f: Family): FamilyOutput => (unavailable.has(f) || fingerprints[f] === undefined ? { save: "" } : { save: lines[f]!.length > 0 ? lines[f]!.join("\n") + "\n" : "", fingerprint: fingerprints[f] });
  return { ipv4: part("ipv4"), ipv6: part("ipv6"), listeners: (lines.listeners ?? []).join("\n"), nft: nft.status === "ready" ? nft : { status: nft.status, tables: {}, fingerprint: "" } };
}

/** The read (or apply) command's output; a `HostError` when it holds no readable IPv4 tables. */
export function parseReadOutput(stdout: string, hostName: string): ReadOutput {
  const sections = splitSections(stdout);
  if (!sections) throw new HostError(hostName, "reading the firewall printed no iptables-save output");
  return sections;
}

/** The apply command may wait for another process's lock first. */
const APPLY_TIMEOUT_MS = 120_000;

/** The firewall protocol over a host's commands: the read and apply scripts, their sections and exit codes. */
export function scriptProtocol(host: Host, backend: Backend): FirewallProtocol {
  const parse = (stdout: string) => parseReadOutput(stdout, host.name);
  return {
    async read(options = {}) {
      const command = readCommand(backend, options.afterLock ? HOST_LOCK_PATH : undefined);
      const result = await host.exec(command.argv);
      if (result.code !== 0) throw classifyCommandFailure(host.name, [command.label], result);
      return parse(result.stdout);
    },
    async apply(request): Promise<ApplyAnswer> {
      const command = applyCommand(backend, request.fingerprints, request.ticket, HOST_LOCK_PATH, request.nftFingerprint);
      let result: ExecResult;
      try {
        result = await host.exec(command.argv, { stdin: applyInput(request.work), timeoutMs: APPLY_TIMEOUT_MS });
      } catch (error) {
        return { outcome: "unfinished", what: `the apply command did not finish (${error instanceof Error ? error.message : String(error)})` };
      }
      const { code, stderr } = result;
      if (code === 0) return { outcome: "applied", tables: parse(result.stdout) };
      if (code === APPLY_EXIT.conflict) return { outcome: "conflict", tables: parse(result.stdout) };
      if (code === APPLY_EXIT.lockTimeout) return { outcome: "refused", error: new HostError(host.name, stderr.trim()) };
      if (code === APPLY_EXIT.setupFailed) return { outcome: "refused", error: classifyCommandFailure(host.name, [command.label], result) };
      const rejected = FAMILIES.find((f) => code === APPLY_EXIT.rejected[f]);
      if (rejected) return { outcome: "rejected", family: rejected, code, stderr };
      if (code === APPLY_EXIT.nftRejected || code === APPLY_EXIT.nftFailed) return { outcome: "rejected", family: "nft", code, stderr };
      const failed = FAMILIES.find((f) => code === APPLY_EXIT.failed[f]);
      return { outcome: "failed", family: failed, what: describeFailure(result, failed), code, stderr };
    },
  };
}

/** What went wrong, from the apply command's exit code (what the host holds is read back separately). */
function describeFailure(result: ExecResult, failed: Family | undefined): string {
  const stderr = result.stderr.trim() ? `: ${result.stderr.trim()}` : "";
  if (failed) return `${failed === "ipv4" ? "iptables" : "ip6tables"}-restore failed after its test passed (exit ${result.code})${stderr}`;
  if (result.code === APPLY_EXIT.rollbackFailed) return `ip6tables-restore failed, and taking ipv4's part back failed too (exit ${result.code})${stderr}`;
  if (result.code === APPLY_EXIT.readFailed) return `reading the firewall failed during the apply (exit ${result.code})${stderr}`;
  // A shell reports a child killed by signal N as 128 + N; LocalHost reports 128 when the command itself was killed.
  if (result.code >= 128) return `the apply command was killed (exit ${result.code})${stderr}`;
  return `the apply command exited with ${result.code}${stderr}`;
}
