import { readFile } from "node:fs/promises";
import type { Sshd } from "../test/support/sshd";

/**
 * How many commands a test sshd has started, counted on the server side:
 * the `Starting session: command …` lines it logs at `LogLevel VERBOSE`.
 * The log is the file named by `-E` on sshd's command line (which sshd
 * rewrites into one space-separated process title).
 */
export async function commandsStarted(sshd: Sshd): Promise<number> {
  const log = / -E (\S+)/.exec((await readFile(`/proc/${sshd.pid}/cmdline`, "utf8")).replaceAll("\0", " "))?.[1];
  if (!log) throw new Error(`sshd (pid ${sshd.pid}) was started without -E <log>`);
  return (await readFile(log, "utf8")).split("\n").filter((l) => l.includes("Starting session: command ")).length;
}
