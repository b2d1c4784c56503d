#!/usr/bin/env node
/**
 * `pulumi-docker-firewall`: who can reach a Docker host's published ports,
 * and why, read from its live firewall (the engine only, no Pulumi).
 */
import { FirewallError } from "../errors";
import { canReach, exposure, read } from "../api";
import { CanReachQuestionError } from "../exposure/can-reach";
import type { Snapshot } from "../host-session";
import { closeAllSessions, sessionFor, targetKey } from "../sessions";
import type { Connection } from "../connection";
import { parseCommand, UsageError, type Command } from "./arguments";
import { EXIT } from "./exit-codes";
import { canReachLine, exposureTable } from "./report-text";

/** `--help`. */
const USAGE = `Usage:
  pulumi-docker-firewall exposure [HOST OPTIONS] [--json]
      Every port the host publishes (Docker's DNAT rules) or listens on, per
      family: which sources, on which inbound interface, can open a connection,
      by which path (forward: DNAT to a container; proxy: a local socket such
      as docker-proxy), and the rule that decides.

  pulumi-docker-firewall can-reach --from ADDRESS --port N [--in IFACE]
      [--to ADDRESS] [--protocol tcp|udp] [HOST OPTIONS] [--json]
      Whether a client at ADDRESS, coming in on IFACE, can open a connection to
      port N of the host (at --to, which defaults to the host's own address on
      --in in the client's family), by which path, and the rule that decides.

Host options (default: this machine):
  --host H        read the firewall of H over SSH
  --user U        SSH user (default root)
  --key FILE      private key file (default: the SSH agent at SSH_AUTH_SOCK)
  --ssh-port N    SSH port (default 22)
  --sudo          run the read command through sudo -n

Reading needs root (iptables-save); one command reads both families and ss.
Reachable means the connection can be established: its first packet is
delivered and the reply gets back. Assumed: clients are other machines, a
host address not given is none a rule names, a client's source port is
ephemeral (32768-60999), a DNATed container serves its port.

Exit codes:
  0   can-reach: reachable; exposure: report complete
  1   can-reach: blocked, or nothing serves the port
  2   a deciding rule is not understood (can-reach: unknown; exposure: some part unknown)
  64  usage error
  69  the host could not be read (SSH, iptables-save, ...)
  70  internal error`;

/** How long a read may take before a progress line is printed. */
const PROGRESS_AFTER_MS = 700;

async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pulumi-docker-firewall: ${error.message}\nRun \`pulumi-docker-firewall --help\` for usage.\n`);
      return EXIT.usage;
    }
    throw error;
  }
  if (command.kind === "help") {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  try {
    const snapshot = await readWithProgress(command.connection);
    if (command.kind === "exposure") {
      const entries = await exposure(snapshot);
      process.stdout.write(command.json ? `${JSON.stringify(entries, null, 2)}\n` : `${exposureTable(entries)}\n`);
      return entries.some((e) => e.parts.some((p) => p.reachable === null)) ? EXIT.unknown : EXIT.ok;
    }
    const to = command.question.to ?? (command.question.inInterface ? await addressOn(command.connection, command.question.inInterface, command.question.from) : undefined);
    const answer = await canReach(snapshot, { ...command.question, ...(to ? { to } : {}) });
    process.stdout.write(command.json ? `${JSON.stringify(answer, null, 2)}\n` : `${canReachLine(answer)}\n`);
    return answer.reachable === true ? EXIT.ok : answer.reachable === false ? EXIT.blocked : EXIT.unknown;
  } catch (error) {
    if (error instanceof CanReachQuestionError) {
      process.stderr.write(`pulumi-docker-firewall: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof FirewallError) {
      process.stderr.write(`pulumi-docker-firewall: ${String(error)}\n`);
      return EXIT.hostError;
    }
    throw error;
  } finally {
    await closeAllSessions();
  }
}

/** Reads the host's firewall; prints a progress line on stderr when it takes a while (a slow remote host). */
async function readWithProgress(connection: Connection | undefined): Promise<Snapshot> {
  const started = Date.now();
  let shown = false;
  const timer = setTimeout(() => {
    shown = true;
    process.stderr.write(`reading the firewall of ${targetKey(connection)}…${process.stderr.isTTY ? "" : "\n"}`);
  }, PROGRESS_AFTER_MS);
  try {
    return await read({ connection });
  } finally {
    clearTimeout(timer);
    if (shown) process.stderr.write(process.stderr.isTTY ? ` ${((Date.now() - started) / 1000).toFixed(1)} s\n` : `read in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
}

/** The host's first address on an interface in the client's family (`ip -o addr show dev IFACE`), or `undefined` when it has none. */
async function addressOn(connection: Connection | undefined, iface: string, from: string): Promise<string | undefined> {
  const family = from.includes(":") ? "-6" : "-4";
  const result = await sessionFor(connection).host.exec(["ip", "-o", family, "addr", "show", "dev", iface, "scope", "global"]);
  if (result.code !== 0) return undefined;
  return /\binet6? ([0-9a-fA-F.:]+)\//.exec(result.stdout)?.[1];
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`pulumi-docker-firewall: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.internal);
  },
);
