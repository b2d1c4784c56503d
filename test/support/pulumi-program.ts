import { execFile, type ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { compiledPath } from "./compiled";

/** One resource registered by a program, as the engine receives it. */
export interface RegisteredResource {
  /** Resource type token; `pulumi-nodejs:dynamic:Resource` for dynamic resources. */
  readonly type: string;
  /** Logical name given in the program. */
  readonly name: string;
  /**
   * Inputs after serialization: `undefined` values are absent, unknown values
   * (preview only) are the sentinel `04da6b54-80e4-46f7-96ec-b56ff0331ba9`,
   * secrets are unwrapped. Dynamic resources carry their serialized provider
   * text in `__provider`.
   */
  readonly inputs: Record<string, unknown>;
  /** Top-level input keys whose value was (or contained) a secret. */
  readonly secretKeys: readonly string[];
}

/** Options of {@link serializeProgram}. */
export interface SerializeProgramOptions {
  /** Pulumi project name. */
  readonly project: string;
  /** Pulumi stack name. */
  readonly stack: string;
  /** Stack config with full keys (`"<project>:<key>"`), passed as `PULUMI_CONFIG`. @default {} */
  readonly config?: Readonly<Record<string, string>>;
  /** Extra environment for the program. @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** Run as during `pulumi preview`: outputs the mocks do not return are unknown. @default false */
  readonly preview?: boolean;
  /** Run the program inside this network namespace (what it reads of the local firewall is that namespace's). @default the current one */
  readonly netns?: string;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Runs the compiled JS Pulumi program at `programPath` (a file or a directory
 * with an index.js) in a child `node` process under
 * `pulumi.runtime.setMocks`, with cwd = the program directory, and returns
 * every resource it registered (the root `pulumi:pulumi:Stack` included), in
 * registration order. Serialization happens exactly as under `pulumi up`.
 * Rejects with the child's stderr when the program fails.
 */
export async function serializeProgram(programPath: string, options: SerializeProgramOptions): Promise<RegisteredResource[]> {
  const program = path.resolve(programPath);
  const cwd = statSync(program).isDirectory() ? program : path.dirname(program);
  const scratch = await mkdtemp(path.join(tmpdir(), "serialize-program-"));
  const resultFile = path.join(scratch, "registered.json");
  const argv = [compiledPath("test/support/program-runner.js"), program, options.project, options.stack, String(options.preview ?? false), resultFile];
  const env = { ...process.env, ...options.env, PULUMI_CONFIG: JSON.stringify(options.config ?? {}) };
  const [command, args] = options.netns ? ["ip", ["netns", "exec", options.netns, process.execPath, ...argv]] : [process.execPath, argv];
  const run = promisify(execFile)(command, args, { cwd, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  running.add(run.child);
  try {
    await run.catch((error: { code?: number | string; stderr?: string }) => {
      throw new Error(`program ${program} failed (exit ${error.code}):\n${error.stderr ?? error}`);
    });
    return JSON.parse(await readFile(resultFile, "utf8")) as RegisteredResource[];
  } finally {
    running.delete(run.child);
    await rm(scratch, { recursive: true, force: true });
  }
}
