import { HOST_LOCK_PATH, readCommand, type HostCommand } from "../host-scripts";
import type { Backend } from "../iptables/backend";

/**
 * The fixed `sh` scripts of a `BridgeNetwork`: one inspects the network and
 * reads both families' tables in one command, one creates the network and
 * one removes it (both under the host lock). Inputs travel only as
 * positional arguments, never spliced into script text; the `docker`
 * arguments are an argv built by the engine.
 */

/** Exit codes of the create and remove scripts. */
export const NETWORK_EXIT = {
  /** Timed out waiting for the host lock; nothing was changed. */
  lockTimeout: 71,
  /** The network still has containers (their names on stderr); nothing was changed. */
  inUse: 73,
} as const;

/** Marks the read script's sections: the inspection (or absence), then what the firewall read command prints. */
export const NETWORK_MARKERS = { network: "#@pdf network", absent: "#@pdf network absent", firewall: "#@pdf firewall" } as const;

/** Seconds to wait for the host lock (as the firewall apply does). */
const LOCK_WAIT_SECONDS = 60;

// `dk`: docker, with -H when a daemon address was given ($h).
const DOCKER_FUNCTION = `dk() { if [ -n "$h" ]; then docker -H "$h" "$@"; else docker "$@"; fi; }`;

const LOCK = `command -v flock > /dev/null || { echo "flock is not installed (Debian: apt-get install util-linux)" >&2; exit 1; }
exec 9>> "$lock" || exit 1
flock -w ${LOCK_WAIT_SECONDS} 9 || { echo "waited ${LOCK_WAIT_SECONDS} s for $lock: another process is changing this host" >&2; exit ${NETWORK_EXIT.lockTimeout}; }`;

// $1 DOCKER_HOST ("" for the default), $2 the network; then the firewall read command's `sh -c` arguments.
const READ_SCRIPT = `h=$1 n=$2
shift 2
${DOCKER_FUNCTION}
names=$(dk network ls --format '{{.Name}}') || exit 1
printf '%s\\n' '${NETWORK_MARKERS.network}'
if printf '%s\\n' "$names" | grep -Fxq -- "$n"; then
  dk network inspect --format '{{json .}}' "$n" || exit 1
else
  printf '%s\\n' '${NETWORK_MARKERS.absent}'
fi
printf '%s\\n' '${NETWORK_MARKERS.firewall}'
exec sh -c "$@"`;

// $1 the lock, $2 DOCKER_HOST; then \`docker network create\`'s arguments. Prints the new network's id.
const CREATE_SCRIPT = `lock=$1 h=$2
shift 2
${DOCKER_FUNCTION}
${LOCK}
dk network create "$@"`;

// $1 the lock, $2 DOCKER_HOST, $3 the network. A network already gone is not an error; one with containers is refused.
const REMOVE_SCRIPT = `lock=$1 h=$2 n=$3
${DOCKER_FUNCTION}
${LOCK}
names=$(dk network ls --format '{{.Name}}') || exit 1
printf '%s\\n' "$names" | grep -Fxq -- "$n" || exit 0
c=$(dk network inspect --format '{{range .Containers}}{{.Name}} {{end}}' "$n") || exit 1
[ -z "$c" ] || { printf '%s\\n' "$c" >&2; exit ${NETWORK_EXIT.inUse}; }
dk network rm "$n" > /dev/null`;

/** The command that prints the network's inspection and then what {@link readCommand} prints (see {@link NETWORK_MARKERS}). */
export function networkReadCommand(name: string, dockerHost: string | undefined, backend: Backend): HostCommand {
  const firewall = readCommand(backend);
  return { argv: ["sh", "-c", READ_SCRIPT, "sh", dockerHost ?? "", name, ...firewall.argv.slice(2)], label: `docker network inspect ${name} and ${firewall.label}` };
}

/** The command that runs `docker network create ARGS` under the host lock. */
export function networkCreateCommand(createArgs: readonly string[], dockerHost: string | undefined, lockPath = HOST_LOCK_PATH): HostCommand {
  return { argv: ["sh", "-c", CREATE_SCRIPT, "sh", lockPath, dockerHost ?? "", ...createArgs], label: `docker network create ${createArgs.join(" ")}` };
}

/** The command that removes the network under the host lock, unless containers use it (exit {@link NETWORK_EXIT}.inUse). */
export function networkRemoveCommand(name: string, dockerHost: string | undefined, lockPath = HOST_LOCK_PATH): HostCommand {
  return { argv: ["sh", "-c", REMOVE_SCRIPT, "sh", lockPath, dockerHost ?? "", name], label: `docker network rm ${name}` };
}
