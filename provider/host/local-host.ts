import { spawn } from "node:child_process";
import { HostError } from "../errors";
import { DEFAULT_EXEC_TIMEOUT_MS, type ExecOptions, type ExecResult, type Host } from "./host";
import { readFileByExec, writeFileByExec } from "./file-commands";

/**
 * The machine this process runs on. Commands are spawned from their argv
 * directly, never through a shell.
 */
export class LocalHost implements Host {
  readonly name: string = "local";

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new HostError(this.name, `\`${argv[0]}\` did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      child.stdout.on("data", (d: Buffer) => stdout.push(d));
      child.stderr.on("data", (d: Buffer) => stderr.push(d));
      child.on("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new HostError(
            this.name,
            err.code === "ENOENT" ? `\`${argv[0]}\` is not installed (not found on PATH)` : `cannot run \`${argv[0]}\`: ${err.message}`,
          ),
        );
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
        });
      });
      child.stdin.on("error", () => undefined); // the command may exit without reading its input
      child.stdin.end(options.stdin ?? "");
    });
  }

  readFile(path: string): Promise<string | undefined> {
    return readFileByExec((a, o) => this.exec(a, o), this.name, path);
  }

  writeFile(path: string, content: string): Promise<void> {
    return writeFileByExec((a, o) => this.exec(a, o), this.name, path, content);
  }

  async close(): Promise<void> {}
}
