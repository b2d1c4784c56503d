import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { ExecOptions, ExecResult, Host } from "../../provider/host/host";
import { LocalHost } from "../../provider/host/local-host";

/**
 * Network namespaces for tests: each is a disposable "host" with its own,
 * empty firewall. Every namespace made here is deleted by `delete()`, and any
 * still alive when the process exits is deleted then.
 */

const local = new LocalHost();
const alive = new Set<string>();

/**
 * The prefix of every namespace this test run makes: `pdf<run id>-`, set by
 * the jest global setup (or by the caller, to keep parallel runs apart), so
 * that the run's guard cleans up its own namespaces and never another's.
 */
export function netnsPrefix(): string {
  return `${process.env.PDF_TEST_RUN ?? `pdf${process.pid}`}-`;
}
let counter = 0;

process.on("exit", () => {
  for (const name of alive) {
    try {
      execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
});

/** Runs argv in the root namespace and throws with its stderr when it fails. */
export async function run(argv: readonly string[], options?: ExecOptions): Promise<string> {
  const result = await local.exec(argv, options);
  if (result.code !== 0) throw new Error(`\`${argv.join(" ")}\` exited with ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** A unique short token for interface and namespace names (≤ 6 chars). */
export function uniqueToken(): string {
  counter += 1;
  return randomBytes(2).toString("hex") + (counter % 100).toString().padStart(2, "0");
}

/** A network namespace made by a test, with loopback up. */
export class Netns implements Host {
  private constructor(readonly name: string) {}

  /** Creates a namespace named `<run prefix><label>-<token>` (see {@link netnsPrefix}). */
  static async create(label: string): Promise<Netns> {
    const name = `${netnsPrefix()}${label}-${uniqueToken()}`;
    await run(["ip", "netns", "add", name]);
    alive.add(name);
    const ns = new Netns(name);
    await ns.run(["ip", "link", "set", "lo", "up"]);
    return ns;
  }

  /** Runs argv inside the namespace (network namespace and mount of /sys, as `ip netns exec` does). */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return local.exec(["ip", "netns", "exec", this.name, ...argv], options);
  }

  /** Runs argv inside the namespace and returns stdout; throws when it fails. */
  run(argv: readonly string[], options?: ExecOptions): Promise<string> {
    return run(["ip", "netns", "exec", this.name, ...argv], options);
  }

  readFile(path: string): Promise<string | undefined> {
    return local.readFile(path);
  }

  writeFile(path: string, content: string): Promise<void> {
    return local.writeFile(path, content);
  }

  async close(): Promise<void> {}

  /** Kills every process left in the namespace, then deletes it. Safe to call twice. */
  async delete(): Promise<void> {
    if (!alive.has(this.name)) return;
    const pids = (await local.exec(["ip", "netns", "pids", this.name])).stdout.split(/\s+/).filter(Boolean);
    if (pids.length > 0) await local.exec(["kill", "-9", ...pids]);
    await run(["ip", "netns", "del", this.name]);
    alive.delete(this.name);
  }
}

/** The two ends of a veth link and their addresses. */
export interface Link {
  /** Interface name on side a. */
  readonly aIf: string;
  /** Interface name on side b. */
  readonly bIf: string;
  readonly aV4: string;
  readonly bV4: string;
  readonly aV6: string;
  readonly bV6: string;
}

/**
 * Joins two namespaces (or the root namespace, `"root"`, and a namespace)
 * with a veth pair, addressed from a /30 of 203.0.113.0/24 and a /64 of
 * 2001:db8::/32 chosen by `index` (0–63; callers keep indexes unique among
 * links that touch the root namespace). Only documentation ranges are used.
 */
export async function link(a: Netns | "root", b: Netns, index: number, names?: { aIf?: string; bIf?: string }): Promise<Link> {
  const token = uniqueToken();
  const aIf = names?.aIf ?? `va${token}`;
  const bIf = names?.bIf ?? `vb${token}`;
  const tmpA = `ta${token}`;
  const tmpB = `tb${token}`;
  const base = index * 4;
  const result: Link = {
    aIf,
    bIf,
    aV4: `203.0.113.${base + 1}`,
    bV4: `203.0.113.${base + 2}`,
    aV6: `2001:db8:${(0xa00 + index).toString(16)}::1`,
    bV6: `2001:db8:${(0xa00 + index).toString(16)}::2`,
  };
  await run(["ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB]);
  const sides: [Netns | "root", string, string, string, string][] = [
    [a, tmpA, aIf, result.aV4, result.aV6],
    [b, tmpB, bIf, result.bV4, result.bV6],
  ];
  for (const [ns, tmp, final, v4, v6] of sides) {
    const inNs = (argv: string[]) => (ns === "root" ? run(argv) : ns.run(argv));
    if (ns !== "root") await run(["ip", "link", "set", tmp, "netns", ns.name]);
    await inNs(["ip", "link", "set", tmp, "name", final]);
    await inNs(["ip", "addr", "add", `${v4}/30`, "dev", final]);
    await inNs(["ip", "-6", "addr", "add", `${v6}/64`, "dev", final, "nodad"]);
    await inNs(["ip", "link", "set", final, "up"]);
  }
  return result;
}
