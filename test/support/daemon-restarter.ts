import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { DockerDaemon } from "./docker-daemon";

/**
 * The script run as the restart command: asks the process holding the
 * daemon to restart it (`$1/request`) and waits for `$1/done` (at most 2
 * minutes); `$1/failed` holds why a restart failed.
 */
const RESTART_SCRIPT = `: > "$1/request"
i=0
until [ -e "$1/done" ]; do
  if [ -e "$1/failed" ]; then cat "$1/failed" >&2; rm -f "$1/failed"; exit 1; fi
  i=$((i + 1)); [ $i -lt 1200 ] || { echo "nobody restarted the daemon" >&2; exit 1; }; sleep 0.1
done
rm -f "$1/done"
`;

/** How often the request file is looked for, in ms. */
const POLL_MS = 100;

/**
 * A `restartCommand` for a lab daemon ({@link DockerDaemon}), whose process
 * belongs to the test, not to a service manager: the command (a script in
 * a temporary directory, run wherever the host runs it, e.g. over SSH in the
 * daemon's namespace) asks this process to restart the daemon and returns
 * once it has. One restart at a time.
 */
export interface DaemonRestarter {
  /** The argv to give a `DaemonConfig` as `restartCommand`. */
  readonly command: readonly string[];
  /** How many restarts were done so far. */
  restarts(): number;
  /** Stops answering requests and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Writes the script and starts answering its requests by restarting `daemon`. */
export async function startDaemonRestarter(daemon: DockerDaemon): Promise<DaemonRestarter> {
  const dir = await mkdtemp(path.join(tmpdir(), "pdf-restarter-"));
  await writeFile(path.join(dir, "restart.sh"), RESTART_SCRIPT);
  let count = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      if (existsSync(path.join(dir, "request"))) {
        await rm(path.join(dir, "request"));
        try {
          await daemon.restart();
          count += 1;
          await writeFile(path.join(dir, "done"), "");
        } catch (error) {
          await writeFile(path.join(dir, "failed"), `${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  let stopping: Promise<void> | undefined;
  return {
    command: ["sh", path.join(dir, "restart.sh"), dir],
    restarts: () => count,
    stop: () =>
      (stopping ??= (async () => {
        watching = false;
        try {
          await watcher;
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      })()),
  };
}
