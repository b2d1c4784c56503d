import { spawn } from "node:child_process";

/**
 * Runs a compiled worker script as a node process of its own: `input` goes
 * to it as JSON on stdin, and its stdout is parsed as JSON. Rejects with the
 * worker's stderr when it exits non-zero.
 *
 * @param script the compiled worker (see `compiledPath`)
 * @param input what the worker reads from stdin
 * @param label names the worker in errors
 * @param env the worker's environment
 * @default env: this process's
 */
export function runJsonWorker<O>(script: string, input: unknown, label: string, env: NodeJS.ProcessEnv = process.env): Promise<O> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env, stdio: "pipe" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(JSON.parse(Buffer.concat(out).toString("utf8")) as O);
      else reject(new Error(`worker ${label} exited with ${code}: ${Buffer.concat(err).toString("utf8")}`));
    });
    child.stdin.on("error", () => undefined); // a worker that died is reported by its exit code
    child.stdin.end(JSON.stringify(input));
  });
}
