import { classifyCommandFailure } from "../command-failure";
import type { ExecOptions, ExecResult } from "./host";

/** The `exec` of a host, which is all the file helpers need. */
export type Exec = (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

const MISSING = 3;

/**
 * Reads a file through `exec`, so every transport reads files the same way
 * (and over SSH in one round trip). Resolves `undefined` when it is missing.
 */
export async function readFileByExec(exec: Exec, hostName: string, path: string): Promise<string | undefined> {
  const argv = ["sh", "-c", `[ -e "$1" ] || exit ${MISSING}; exec cat -- "$1"`, "sh", path];
  const result = await exec(argv);
  if (result.code === MISSING) return undefined;
  if (result.code !== 0) throw classifyCommandFailure(hostName, argv, result);
  return result.stdout;
}

/**
 * Replaces a file atomically through `exec`: the content goes to a temporary
 * file beside it, which is then renamed over the old one.
 */
export async function writeFileByExec(exec: Exec, hostName: string, path: string, content: string): Promise<void> {
  const argv = ["sh", "-c", 't=$(mktemp "$1.XXXXXX") && cat > "$t" && chmod 644 "$t" && mv -f "$t" "$1"', "sh", path];
  const result = await exec(argv, { stdin: content });
  if (result.code !== 0) throw classifyCommandFailure(hostName, argv, result);
}
