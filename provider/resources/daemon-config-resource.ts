import { createHash } from "node:crypto";
import { classifyCommandFailure } from "../command-failure";
import type { Connection } from "../connection";
import { editableDocument, editedText } from "../daemon/daemon-file";
import { DaemonFileError } from "../daemon/daemon-file-error";
import { managedValues, type KeyValue } from "../daemon/daemon-keys";
import { DEFAULT_RESTART_COMMAND, WRITE_EXIT, daemonReadCommand, daemonWaitCommand, daemonWriteCommand } from "../daemon/daemon-scripts";
import { daemonDrift, effectiveOf, parseDaemonRead, type DaemonState } from "../daemon/daemon-state";
import { impactOf } from "../daemon/impact";
import { CommandError, formatPath, HostError, ValidationError } from "../errors";
import type { HostCommand } from "../host-scripts";
import type { Host } from "../host/host";
import type { HostSession } from "../host-session";
import { containsUnknown, findIssues, parseOrThrow } from "../schema/validate";
import { firewallIdentity, sessionFor } from "../sessions";
import { DEFAULT_DAEMON_JSON, daemonConfigSchema, previousValuesSchema, type CheckedDaemonConfigArgs } from "./daemon-config";
import type { Props, ResourceEngine } from "./rule-resource";

/** Outputs of a `DaemonConfig`: set aside before the arguments are validated, never compared by diff. */
const OUTPUT_KEYS = new Set(["impact", "previous", "restartRequired", "effective", "drift", "__provider"]);

/** Inputs whose change replaces the resource: another host or another file. */
const TARGET_KEYS = ["connection", "path"] as const;

/** How often a write is retried when the file changed between read and write. */
const WRITE_ATTEMPTS = 3;

/** Seconds to wait for the daemon to answer after a restart. */
const RESTART_WAIT_SECONDS = 60;

/** Milliseconds the restart command itself may take. */
const RESTART_TIMEOUT_MS = 120_000;

/** Stored previous values: per daemon.json key, what it held before we managed it (`null`: absent). */
type Previous = Record<string, KeyValue | null>;

/**
 * The lifecycle of a `DaemonConfig`: manages some daemon.json keys (and
 * nothing else of the file), restarts the daemon when asked to, and reports
 * what the running daemon actually uses.
 */
export const daemonConfig: ResourceEngine = {
  async check(_olds, news) {
    const args = argumentsOf(news);
    const issues = findIssues(daemonConfigSchema, args);
    if (issues.length > 0) return { inputs: news, failures: issues.map((i) => ({ property: formatPath(i.path), reason: i.message })) };
    return { inputs: containsUnknown(news) ? news : { ...news, impact: impactOf(parseOrThrow(daemonConfigSchema, args)) }, failures: [] };
  },

  async diff(_id, olds, news) {
    const replaces = TARGET_KEYS.filter((k) => !containsUnknown(olds[k]) && !containsUnknown(news[k]) && targetOf(k, olds[k]) !== targetOf(k, news[k]));
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)].filter((k) => !OUTPUT_KEYS.has(k)));
    const changed = [...keys].some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    const drifted = Array.isArray(olds.drift) && olds.drift.length > 0;
    return { changes: changed || drifted || replaces.length > 0, replaces: [...replaces], deleteBeforeReplace: replaces.length > 0 };
  },

  async create(inputs) {
    const args = parseOrThrow(daemonConfigSchema, argumentsOf(inputs));
    const outs = await converge(args, inputs, {}, false);
    return { id: `${firewallIdentity(args.connection)}:${args.path ?? DEFAULT_DAEMON_JSON}`, outs };
  },

  async read(id, props) {
    let args: CheckedDaemonConfigArgs;
    try {
      args = parseOrThrow(daemonConfigSchema, argumentsOf(props));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return { id, props: { ...props, drift: [`the stored inputs no longer pass this version's checks: ${error.message}`] } };
    }
    const session = sessionOf(args);
    const state = await session.run((host) => readState(host, args));
    return { id, props: { ...props, effective: effectiveOf(state), drift: driftOf(session.host, args, state, props.restartRequired === true) } };
  },

  async update(_id, olds, news) {
    const args = parseOrThrow(daemonConfigSchema, argumentsOf(news));
    return { outs: await converge(args, news, previousOf(olds), olds.restartRequired === true) };
  },

  async delete(_id, props) {
    const args = parseOrThrow(daemonConfigSchema, argumentsOf(props));
    const previous = previousOf(props);
    await sessionOf(args).run(async (host) => {
      const changed = await writeKeys(host, args, () => previous);
      if (changed && args.restart === "if-changed") await restartDaemon(host, args);
    });
  },
};

/**
 * Makes the file hold the declared values (keys no longer declared get
 * their previous values back), restarts the daemon when the policy says so,
 * and returns the outputs as read afterwards; all of it one job in the
 * host's queue, so no firewall transaction runs while dockerd restarts.
 */
function converge(args: CheckedDaemonConfigArgs, inputs: Props, stored: Previous, pending: boolean): Promise<Props> {
  return sessionOf(args).run((host) => convergeOn(host, args, inputs, stored, pending));
}

async function convergeOn(host: Host, args: CheckedDaemonConfigArgs, inputs: Props, stored: Previous, pending: boolean): Promise<Props> {
  const wanted = managedValues(args);
  let previous: Previous = {};
  let daemonBehind = false;
  const changed = await writeKeys(host, args, (values, state) => {
    previous = {};
    for (const key of Object.keys(wanted)) previous[key] = key in stored ? stored[key] : ((values[key] as KeyValue | undefined) ?? null);
    const released = Object.fromEntries(Object.entries(stored).filter(([k]) => !(k in wanted)));
    daemonBehind = daemonDrift(effectiveOf(state), onlyKeys(values, Object.keys(wanted))).length > 0;
    return { ...released, ...wanted };
  });
  const restarted = args.restart === "if-changed" && (changed || pending || daemonBehind);
  if (restarted) await restartDaemon(host, args);
  const restartRequired = !restarted && (changed || pending);
  const state = await readState(host, args);
  return { ...inputs, impact: impactOf(args), previous, restartRequired, effective: effectiveOf(state), drift: driftOf(host, args, state, restartRequired) };
}

/**
 * Reads the file, decides the changes from its values (`plan`), and writes
 * the edited text under the host lock if the file is still as read
 * (retried a few times when it is not). Refuses a file that is not a JSON
 * object or holds a touched key of the wrong type. Resolves whether it wrote.
 */
async function writeKeys(host: Host, args: CheckedDaemonConfigArgs, plan: (values: Readonly<Record<string, unknown>>, state: DaemonState) => Previous): Promise<boolean> {
  const path = args.path ?? DEFAULT_DAEMON_JSON;
  for (let attempt = 1; ; attempt++) {
    const state = await readState(host, args);
    const probe = editableDocument(state.file, [], host.name, path);
    const changes = plan(probe.values, state);
    const doc = editableDocument(state.file, Object.keys(changes), host.name, path);
    const text = editedText(doc, changes);
    if (text === undefined) return false;
    const expected = state.file.exists ? createHash("sha256").update(state.file.text).digest("hex") : "-";
    const command = daemonWriteCommand(path, expected);
    const result = await host.exec(command.argv, { stdin: text, timeoutMs: 120_000 });
    if (result.code === 0) return true;
    if (result.code === WRITE_EXIT.conflict && attempt < WRITE_ATTEMPTS) continue;
    if (result.code === WRITE_EXIT.conflict) throw new HostError(host.name, `${path} changed under us ${WRITE_ATTEMPTS} times between reading and writing it; nothing was written`);
    if (result.code === WRITE_EXIT.lockTimeout) throw new HostError(host.name, result.stderr.trim());
    throw classifyCommandFailure(host.name, [command.label], result);
  }
}

/** Restarts the daemon with the resource's command and waits until it answers. */
async function restartDaemon(host: Host, args: CheckedDaemonConfigArgs): Promise<void> {
  const command: HostCommand = args.restartCommand ? { argv: args.restartCommand, label: args.restartCommand.join(" ") } : DEFAULT_RESTART_COMMAND;
  const restart = await host.exec(command.argv, { timeoutMs: RESTART_TIMEOUT_MS });
  if (restart.code !== 0) {
    throw new CommandError(host.name, [command.label], restart.code, `restarting the daemon failed (the file was written): ${(restart.stderr || restart.stdout).trim()}`);
  }
  const wait = daemonWaitCommand(args.dockerHost, RESTART_WAIT_SECONDS);
  const answer = await host.exec(wait.argv, { timeoutMs: (RESTART_WAIT_SECONDS + 30) * 1000 });
  if (answer.code !== 0) {
    throw new HostError(host.name, `the daemon did not answer within ${RESTART_WAIT_SECONDS} s of \`${command.label}\` (which printed: ${(restart.stdout + restart.stderr).trim() || "nothing"}); docker said: ${answer.stderr.trim() || "nothing"}`);
  }
}

/** Reads the file and the daemon's state in one command. */
async function readState(host: Host, args: CheckedDaemonConfigArgs): Promise<DaemonState> {
  const command = daemonReadCommand(args.path ?? DEFAULT_DAEMON_JSON, args.dockerHost, args.iptablesBackend ?? "auto");
  const result = await host.exec(command.argv);
  if (result.code !== 0) throw classifyCommandFailure(host.name, [command.label], result);
  return parseDaemonRead(result.stdout, host.name);
}

/**
 * What differs from the declaration: the file gone or unreadable, a managed
 * key edited by hand, and (unless a restart is known to be pending) the
 * running daemon not doing what the file says.
 */
function driftOf(host: Host, args: CheckedDaemonConfigArgs, state: DaemonState, restartPending: boolean): string[] {
  const path = args.path ?? DEFAULT_DAEMON_JSON;
  if (!state.file.exists) return [`${path} is gone`];
  let values: Readonly<Record<string, unknown>>;
  try {
    values = editableDocument(state.file, [], host.name, path).values;
  } catch (error) {
    if (error instanceof DaemonFileError) return [error.message];
    throw error;
  }
  const wanted = managedValues(args);
  const drift = Object.entries(wanted)
    .filter(([key, value]) => values[key] !== value)
    .map(([key, value]) => (values[key] === undefined ? `"${key}" is missing from ${path}; declared ${JSON.stringify(value)}` : `"${key}" is ${JSON.stringify(values[key])} in ${path}; declared ${JSON.stringify(value)}`));
  if (restartPending) return drift;
  return [...drift, ...daemonDrift(effectiveOf(state), onlyKeys(values, Object.keys(wanted)))];
}

/** The session of the host a resource's file is on (shared with the firewall resources on the same connection), whose queue runs its jobs. */
function sessionOf(args: CheckedDaemonConfigArgs): HostSession {
  return sessionFor(args.connection, args.iptablesBackend);
}

/** The stored previous values; none when state holds none. */
function previousOf(props: Props): Previous {
  const parsed = previousValuesSchema.safeParse(props.previous);
  return parsed.success ? parsed.data : {};
}

/** The file's values of `keys` only. */
function onlyKeys(values: Readonly<Record<string, unknown>>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, values[k]]));
}

function argumentsOf(props: Props): Props {
  return Object.fromEntries(Object.entries(props).filter(([k]) => !OUTPUT_KEYS.has(k)));
}

function targetOf(key: (typeof TARGET_KEYS)[number], value: unknown): string {
  return key === "connection" ? firewallIdentity(value as Connection | undefined) : String(value ?? DEFAULT_DAEMON_JSON);
}
