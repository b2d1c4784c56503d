import type { HostCommand } from "../host-scripts";
import { HOST_LOCK_PATH } from "../host-scripts";
import { backendSuffix, type Backend } from "../iptables/backend";

/**
 * The fixed `sh` scripts of a `DaemonConfig`: one reads the file and the
 * daemon's state, one writes the file, one waits for the daemon to answer,
 * one restarts it the default way. Inputs travel only as positional
 * arguments and standard input, never spliced into script text.
 */

/** Exit codes of the write script. */
export const WRITE_EXIT = {
  /** The file is not what the engine read (someone wrote it meanwhile); nothing was changed. */
  conflict: 75,
  /** Timed out waiting for the host lock; nothing was changed. */
  lockTimeout: 71,
  /** A tool is missing or a step failed before the rename; the file was not changed. */
  failed: 70,
} as const;

/** Seconds the write waits for the host lock (as the firewall apply does). */
const LOCK_WAIT_SECONDS = 60;

/** Marks the read script's sections; the file's text comes last, after `#@pdf file UID:GID MODE`, so it needs no escaping. */
export const READ_MARKERS = { docker: "#@pdf docker", ipv4: "#@pdf ipv4", ipv6: "#@pdf ipv6", unavailable: "#@pdf unavailable", file: "#@pdf file ", absent: "#@pdf absent" } as const;

// $1 the file, $2 DOCKER_HOST ("" for the default), $3 the iptables backend suffix.
// `docker info` prints the server's version and live-restore; each iptables-save its family's every table.
const READ_SCRIPT = `p=$1 h=$2 s=$3
if [ -n "$h" ]; then set -- -H "$h"; else set --; fi
printf '%s\\n' '${READ_MARKERS.docker}'
timeout 10 docker "$@" info --format '{{.ServerVersion}} {{.LiveRestoreEnabled}}' 2> /dev/null || printf '%s\\n' '${READ_MARKERS.unavailable}'
printf '%s\\n' '${READ_MARKERS.ipv4}'
"iptables$s-save" 2> /dev/null || printf '%s\\n' '${READ_MARKERS.unavailable}'
printf '%s\\n' '${READ_MARKERS.ipv6}'
"ip6tables$s-save" 2> /dev/null || printf '%s\\n' '${READ_MARKERS.unavailable}'
if [ -e "$p" ]; then
  meta=$(stat -c '%u:%g %a' -- "$p") || exit 1
  printf '${READ_MARKERS.file}%s\\n' "$meta"
  exec cat -- "$p"
fi
printf '%s\\n' '${READ_MARKERS.absent}'`;

// $1 the file, $2 the sha256 of the content the engine read ("-" when it read none), $3 the lock; stdin the new content.
// Under the host lock: the file must still be what was read; the new content goes to a temporary file in the
// same directory, takes the old file's owner and mode (a new file: 0644), is synced and renamed over the file,
// after the old content was copied (owner, mode and all) to FILE.bak the same way.
const WRITE_SCRIPT = `set -u
p=$1 want=$2 lock=$3 t= b=
dir=$(dirname -- "$p") base=$(basename -- "$p")
trap '[ -z "$t" ] || rm -f -- "$t"; [ -z "$b" ] || rm -f -- "$b"' EXIT
command -v flock > /dev/null || { echo "flock is not installed (Debian: apt-get install util-linux)" >&2; exit ${WRITE_EXIT.failed}; }
exec 9>> "$lock" || exit ${WRITE_EXIT.failed}
flock -w ${LOCK_WAIT_SECONDS} 9 || { echo "waited ${LOCK_WAIT_SECONDS} s for $lock: another process is changing this host" >&2; exit ${WRITE_EXIT.lockTimeout}; }
if [ -e "$p" ]; then got=$(sha256sum < "$p") || exit ${WRITE_EXIT.failed}; got=\${got%% *}; else got=-; fi
[ "$got" = "$want" ] || exit ${WRITE_EXIT.conflict}
mkdir -p -- "$dir" || exit ${WRITE_EXIT.failed}
t=$(mktemp "$dir/.$base.XXXXXX") || exit ${WRITE_EXIT.failed}
cat > "$t" || exit ${WRITE_EXIT.failed}
if [ -e "$p" ]; then
  chown "$(stat -c %u:%g -- "$p")" "$t" && chmod "$(stat -c %a -- "$p")" "$t" || exit ${WRITE_EXIT.failed}
  b=$(mktemp "$dir/.$base.bak.XXXXXX") && cp -p -- "$p" "$b" && sync -- "$b" && mv -f -- "$b" "$p.bak" || exit ${WRITE_EXIT.failed}
else
  chmod 644 "$t" || exit ${WRITE_EXIT.failed}
fi
sync -- "$t" && mv -f -- "$t" "$p" || exit ${WRITE_EXIT.failed}
sync -- "$dir" 2> /dev/null || true`;

// $1 DOCKER_HOST ("" for the default), $2 seconds: polls `docker version` until the server answers.
const WAIT_SCRIPT = `h=$1 n=$2
if [ -n "$h" ]; then set -- -H "$h"; else set --; fi
end=$(($(date +%s) + n))
until out=$(timeout 5 docker "$@" version --format '{{.Server.Version}}' 2>&1); do
  [ "$(date +%s)" -lt "$end" ] || { printf '%s\\n' "$out" >&2; exit 1; }
  sleep 0.5
done`;

const DEFAULT_RESTART_SCRIPT = `if command -v systemctl > /dev/null 2>&1 && [ -d /run/systemd/system ]; then exec systemctl restart docker; fi
exec service docker restart`;

/** The command that prints the daemon's state, both families' tables and then the file (see {@link READ_MARKERS}). */
export function daemonReadCommand(path: string, dockerHost: string | undefined, backend: Backend): HostCommand {
  return { argv: ["sh", "-c", READ_SCRIPT, "sh", path, dockerHost ?? "", backendSuffix(backend)], label: `reading ${path} and the daemon's state` };
}

/** The command that replaces the file with its standard input, if it still has the hash `expected` (`"-"`: still missing). */
export function daemonWriteCommand(path: string, expected: string, lockPath = HOST_LOCK_PATH): HostCommand {
  return { argv: ["sh", "-c", WRITE_SCRIPT, "sh", path, expected, lockPath], label: `writing ${path}` };
}

/** The command that waits until the daemon answers, for at most `seconds`; on failure stderr holds docker's last answer. */
export function daemonWaitCommand(dockerHost: string | undefined, seconds: number): HostCommand {
  return { argv: ["sh", "-c", WAIT_SCRIPT, "sh", dockerHost ?? "", String(seconds)], label: "docker version (waiting for the daemon)" };
}

/** The default restart: `systemctl restart docker`, or `service docker restart` where systemd is not running. */
export const DEFAULT_RESTART_COMMAND: HostCommand = { argv: ["sh", "-c", DEFAULT_RESTART_SCRIPT], label: "systemctl restart docker (or service docker restart)" };
