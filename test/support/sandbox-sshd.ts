import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { link, run, type Netns } from "./netns";
import { generateKey, waitForPort } from "./sshd";

/**
 * A real OpenSSH server inside an existing namespace (e.g. a
 * `DockerSandbox`'s target T), reached from the root namespace over a veth
 * pair, so that commands sent over SSH see that namespace's firewall and its
 * dockerd. Root logs in with a generated key.
 *
 * Every session runs through a `ForceCommand` wrapper that appends one line
 * to {@link SandboxSshd.execLog} and then runs the original command with
 * `sh -c`: the server's own, exact count of the commands a client started,
 * whatever process the client lives in.
 */
export interface SandboxSshd {
  /** sshd's IPv4 address on its link to the root namespace. */
  readonly address: string;
  /** sshd's IPv6 address on that link. */
  readonly address6: string;
  readonly port: number;
  /** An OpenSSH private key authorized for root. */
  readonly privateKey: string;
  /** The ed25519 host key, as `ssh-ed25519 AAAA… comment`. */
  readonly hostKey: string;
  /** T's interface on the link to the root namespace. */
  readonly linkInterface: string;
  /** The file the wrapper appends to: one line per command, `<epoch.ns> <command with newlines as spaces>`. */
  readonly execLog: string;
  /** The commands started so far (each line of {@link execLog}). */
  execs(): Promise<string[]>;
  /** sshd's log (LogLevel VERBOSE). */
  log(): Promise<string>;
  /** Kills sshd and removes the link's root-side files. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startSandboxSshd}. */
export interface SandboxSshdOptions {
  /**
   * The `link()` index of the veth pair to the root namespace (50–59 are
   * reserved for this); its /30 of 203.0.113.0/24 must be free.
   * @default 50
   */
  readonly linkIndex?: number;
}

const owned = new Set<{ child?: ChildProcess; dir: string }>();

process.on("exit", () => {
  for (const o of owned) {
    o.child?.kill("SIGKILL");
    rmSync(o.dir, { recursive: true, force: true });
  }
});

/**
 * Starts sshd in `ns` (which must exist and stay until `stop()`), listening
 * on a new veth link to the root namespace, and resolves once it accepts
 * TCP connections. The link's T side disappears with the namespace; its
 * root side goes with it (veth pairs die together).
 */
export async function startSandboxSshd(ns: Netns, options: SandboxSshdOptions = {}): Promise<SandboxSshd> {
  const linkIndex = options.linkIndex ?? (await freeLinkIndex());
  if (!Number.isInteger(linkIndex) || linkIndex < 50 || linkIndex > 59) throw new Error(`linkIndex must be 50–59, got ${linkIndex}`);
  const dir = await mkdtemp(join(tmpdir(), "pdf-sbsshd-"));
  const entry: { child?: ChildProcess; dir: string } = { dir };
  owned.add(entry);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const child = entry.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
      owned.delete(entry);
    })());
  try {
    const net = await link("root", ns, linkIndex);
    const port = 22;
    const client = await generateKey(dir, "client");
    const hostKeyPath = join(dir, "ssh_host_ed25519_key");
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sandbox-host", "-f", hostKeyPath]);
    const hostKey = (await readFile(`${hostKeyPath}.pub`, "utf8")).trim();
    await writeFile(join(dir, "authorized_keys"), `${client.publicKey}\n`);
    const execLog = join(dir, "exec.log");
    await writeFile(execLog, "");
    const wrapper = join(dir, "count-exec");
    await writeFile(
      wrapper,
      `#!/bin/sh
{ printf '%s ' "$(date +%s.%N)"; printf '%s' "\${SSH_ORIGINAL_COMMAND:-}" | tr '\\n' ' '; printf '\\n'; } >> ${execLog}
exec /bin/sh -c "\${SSH_ORIGINAL_COMMAND:-}"
`,
      { mode: 0o755 },
    );
    const log = join(dir, "sshd.log");
    await writeFile(
      join(dir, "sshd_config"),
      [
        `Port ${port}`,
        `ListenAddress ${net.bV4}`,
        `ListenAddress ${net.bV6}`,
        `HostKey ${hostKeyPath}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        "UsePAM no",
        "StrictModes no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        `ForceCommand ${wrapper}`,
        "SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    await mkdir("/run/sshd", { recursive: true });
    const child = spawn("ip", ["netns", "exec", ns.name, "/usr/sbin/sshd", "-D", "-f", join(dir, "sshd_config"), "-E", log], { stdio: "ignore" });
    entry.child = child;
    await waitForPort(net.bV4, port, child, log);
    return {
      address: net.bV4,
      address6: net.bV6,
      port,
      privateKey: client.privateKey,
      hostKey,
      linkInterface: net.bIf,
      execLog,
      execs: async () => (await readFile(execLog, "utf8")).split("\n").filter(Boolean),
      log: () => readFile(log, "utf8").catch(() => ""),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The first link index in 50–59 whose root-side address (203.0.113.<4i+1>) is free. */
async function freeLinkIndex(): Promise<number> {
  const inUse = await run(["ip", "-br", "-4", "addr"]);
  for (let i = 50; i <= 59; i++) if (!inUse.includes(` 203.0.113.${i * 4 + 1}/`)) return i;
  throw new Error("no free link index in 50–59 for another sandbox sshd");
}
