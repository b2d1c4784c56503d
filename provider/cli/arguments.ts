import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Connection } from "../connection";
import type { CanReachQuestion } from "../exposure/can-reach";

/** The command line is wrong; the message says how. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Which host to read and how to print. */
export interface CommonOptions {
  /** `undefined`: this machine. */
  readonly connection: Connection | undefined;
  readonly json: boolean;
}

/** A parsed command line. */
export type Command =
  | { readonly kind: "help" }
  | ({ readonly kind: "exposure" } & CommonOptions)
  | ({ readonly kind: "can-reach"; readonly question: CanReachQuestion } & CommonOptions);

const COMMON = {
  host: { type: "string" },
  user: { type: "string" },
  key: { type: "string" },
  "ssh-port": { type: "string" },
  sudo: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const CAN_REACH = {
  ...COMMON,
  from: { type: "string" },
  in: { type: "string" },
  to: { type: "string" },
  port: { type: "string" },
  protocol: { type: "string" },
} as const;

/**
 * Reads the command line (without `node` and the script).
 * @param readKey reads a key file (the seam for tests)
 * @throws UsageError with a message that says what is wrong
 */
export function parseCommand(argv: readonly string[], readKey: (path: string) => string = (path) => readFileSync(path, "utf8")): Command {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") return { kind: "help" };
  if (name !== "exposure" && name !== "can-reach") throw new UsageError(`unknown command \`${name}\`: use \`exposure\` or \`can-reach\``);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...rest], options: name === "exposure" ? COMMON : CAN_REACH, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/\. To specify a positional.*$/s, "") : String(error));
  }
  if (values.help) return { kind: "help" };
  const common: CommonOptions = { connection: connectionOf(values, readKey), json: values.json === true };
  if (name === "exposure") return { kind: "exposure", ...common };
  const from = required(values, "from");
  const port = portNumber(required(values, "port"), "--port");
  const protocol = values.protocol ?? "tcp";
  if (protocol !== "tcp" && protocol !== "udp") throw new UsageError(`--protocol must be tcp or udp, not \`${String(protocol)}\``);
  const question: CanReachQuestion = {
    from: String(from),
    port,
    protocol,
    ...(typeof values.in === "string" ? { inInterface: values.in } : {}),
    ...(typeof values.to === "string" ? { to: values.to } : {}),
  };
  return { kind: "can-reach", question, ...common };
}

function required(values: Record<string, string | boolean | undefined>, option: string): string {
  const value = values[option];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${option} is required`);
  return value;
}

function portNumber(text: string, option: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new UsageError(`${option} must be a port number (1-65535), not \`${text}\``);
  return port;
}

/** The SSH connection the options describe, or `undefined` for this machine. */
function connectionOf(values: Record<string, string | boolean | undefined>, readKey: (path: string) => string): Connection | undefined {
  const host = values.host;
  if (typeof host !== "string") {
    const stray = ["user", "key", "ssh-port", "sudo"].find((o) => values[o] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --host`);
    return undefined;
  }
  let privateKey: string | undefined;
  if (typeof values.key === "string") {
    try {
      privateKey = readKey(values.key);
    } catch (error) {
      throw new UsageError(`cannot read --key ${values.key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    host,
    ...(typeof values.user === "string" ? { user: values.user } : {}),
    ...(typeof values["ssh-port"] === "string" ? { port: portNumber(values["ssh-port"], "--ssh-port") } : {}),
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(values.sudo === true ? { sudo: true } : {}),
  };
}
