import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { link, Netns, run } from "./netns";

/**
 * A real OpenSSH server for tests, running in its own network namespace and
 * reached from the root namespace over a veth pair. It knows root (key only)
 * and a throwaway user that exists only in the namespace's view of
 * `/etc/passwd` (key or password). By default a stand-in `sudo` on the
 * sessions' PATH checks for `-n --` and runs the rest as the same user, which
 * proves what is sent, not sudo itself; with {@link SshdOptions.sudoers} the
 * sessions use the real sudo with a sudoers file of the namespace's own.
 */
export interface Sshd {
  /** The namespace sshd runs in; commands over SSH run there too. */
  readonly ns: Netns;
  /** sshd's IPv4 address, reachable from the root namespace. */
  readonly address: string;
  /** sshd's IPv6 address, reachable from the root namespace. */
  readonly address6: string;
  readonly port: number;
  /** An OpenSSH private key authorized for root and the test user. */
  readonly privateKey: string;
  /** The ed25519 host key, as `ssh-ed25519 AAAA… comment`. */
  readonly hostKey: string;
  /** The ECDSA host key the server also has, as `ecdsa-sha2-nistp256 AAAA…`. */
  readonly ecdsaHostKey: string;
  /** The non-root user and its password. */
  readonly user: { readonly name: string; readonly password: string };
  /** sshd's process id. */
  readonly pid: number;
  /** Allows one more public key (an `authorized_keys` line) to log in. */
  authorize(publicKey: string): Promise<void>;
  /** Kills the per-connection sshd processes (not the commands they started), dropping every client; resolves how many were killed. */
  dropConnections(): Promise<number>;
  /** Kills sshd, deletes the namespace and every file made. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startSshd}; without any, sshd is as it always was. */
export interface SshdOptions {
  /**
   * Use the REAL sudo, with this text as its sudoers file: it is written to
   * `/etc/netns/<ns>/sudoers` (mode 0440), which `ip netns exec` bind-mounts
   * over `/etc/sudoers` for sshd and its sessions only; the real file is
   * never touched. The stand-in `sudo` is then left off the sessions' PATH.
   */
  readonly sudoers?: string;
  /** The sessions' whole PATH (sshd's `SetEnv`), replacing the default one (stand-in dir first, then the system dirs). */
  readonly path?: string;
}

/** A key pair made by `ssh-keygen`. */
export interface KeyPair {
  readonly privateKey: string;
  /** `type AAAA… comment` */
  readonly publicKey: string;
}

const FIRST_LINK_INDEX = 20;
const LINK_INDEXES = 20;
let nextLinkIndex = FIRST_LINK_INDEX;
/** What each started sshd left to clean up, for the exit handler. */
interface Owned {
  child?: ChildProcess;
  readonly dirs: readonly string[];
}
const running = new Set<Owned>();

process.on("exit", () => {
  for (const { child, dirs } of running) {
    child?.kill("SIGKILL");
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});

/** Makes an ed25519 key pair in `dir` (encrypted when `passphrase` is given). */
export async function generateKey(dir: string, name: string, passphrase = ""): Promise<KeyPair> {
  const path = join(dir, name);
  await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", path]);
  return { privateKey: await readFile(path, "utf8"), publicKey: (await readFile(`${path}.pub`, "utf8")).trim() };
}

/** Starts sshd in a fresh namespace and resolves once its port accepts connections. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const ns = await Netns.create("ssh");
  const dir = await mkdtemp(join(tmpdir(), "pdf-sshd-"));
  const etc = `/etc/netns/${ns.name}`;
  const owned: Owned = { dirs: [dir, etc] };
  running.add(owned);
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= cleanUp(ns, owned));
  try {
    const net = await link("root", ns, await freeLinkIndex());
    const port = 22;
    const user = { name: "pdftest", password: `pw-${Math.random().toString(36).slice(2)}` };
    const [client, hostKey, ecdsaHostKey] = await Promise.all([
      generateKey(dir, "client"),
      generateHostKey(dir, "ed25519"),
      generateHostKey(dir, "ecdsa"),
    ]);
    await writeFile(join(dir, "authorized_keys"), `${client.publicKey}\n`);
    await mkdir(join(dir, "bin"));
    await writeFile(
      join(dir, "bin", "sudo"),
      '#!/bin/sh\n[ "$1" = -n ] && [ "$2" = -- ] || { echo "sudo (test stand-in): expected -n --" >&2; exit 1; }\nshift 2\nexport SUDO_STAND_IN=1\nexec "$@"\n',
      { mode: 0o755 },
    );
    await chmod(dir, 0o755); // the test user reads authorized_keys and runs bin/sudo
    await addUser(etc, dir, user);
    if (options.sudoers !== undefined) await writeFile(join(etc, "sudoers"), options.sudoers, { mode: 0o440 });
    const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    const path = options.path ?? (options.sudoers !== undefined ? systemPath : `${join(dir, "bin")}:${systemPath}`);
    await writeFile(join(dir, "sshd_config"), sshdConfig(dir, net.bV4, net.bV6, port, path));
    await mkdir("/run/sshd", { recursive: true });

    const log = join(dir, "sshd.log");
    const child = spawn("ip", ["netns", "exec", ns.name, "/usr/sbin/sshd", "-D", "-f", join(dir, "sshd_config"), "-E", log], { stdio: "ignore" });
    owned.child = child;
    await waitForPort(net.bV4, port, child, log);

    return {
      ns,
      address: net.bV4,
      address6: net.bV6,
      port,
      privateKey: client.privateKey,
      hostKey,
      ecdsaHostKey,
      user,
      pid: child.pid ?? 0,
      authorize: (publicKey) => appendFile(join(dir, "authorized_keys"), `${publicKey}\n`),
      dropConnections: async () => {
        const pids = (await ns.exec(["pgrep", "-P", String(child.pid)])).stdout.split(/\s+/).filter(Boolean);
        if (pids.length > 0) await run(["kill", "-9", ...pids]);
        return pids.length;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Kills sshd and removes what `startSshd` made. */
async function cleanUp(ns: Netns, owned: Owned): Promise<void> {
  const child = owned.child;
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
  await ns.delete();
  for (const dir of owned.dirs) await rm(dir, { recursive: true, force: true });
  running.delete(owned);
  await rmdir("/etc/netns").catch(() => undefined); // only when empty, i.e. no one else uses it
}

/** The first link index in 20–39 whose root-side address is free, starting after the last one used. */
async function freeLinkIndex(): Promise<number> {
  const inUse = await run(["ip", "-br", "-4", "addr"]);
  for (let i = 0; i < LINK_INDEXES; i++) {
    const index = nextLinkIndex;
    nextLinkIndex = FIRST_LINK_INDEX + ((nextLinkIndex - FIRST_LINK_INDEX + 1) % LINK_INDEXES);
    if (!inUse.includes(` 203.0.113.${index * 4 + 1}/`)) return index;
  }
  throw new Error("no free link index in 20–39 for another sshd");
}

/** Makes the host key `ssh_host_<type>_key` in `dir` and returns its public line. */
async function generateHostKey(dir: string, type: "ed25519" | "ecdsa"): Promise<string> {
  const path = join(dir, `ssh_host_${type}_key`);
  await run(["ssh-keygen", "-q", "-t", type, "-N", "", "-C", `host-${type}`, "-f", path]);
  return (await readFile(`${path}.pub`, "utf8")).trim();
}

/**
 * Adds the test user to a copy of /etc/passwd that `ip netns exec` mounts over
 * the real one for sshd only. Without /etc/shadow, sshd checks the password
 * hash in the passwd entry itself.
 */
async function addUser(etc: string, home: string, user: { name: string; password: string }): Promise<void> {
  const hash = execFileSync("openssl", ["passwd", "-6", "-stdin"], { input: user.password, encoding: "utf8" }).trim();
  await mkdir(etc, { recursive: true });
  const passwd = await readFile("/etc/passwd", "utf8");
  await writeFile(join(etc, "passwd"), `${passwd}${user.name}:${hash}:61234:65534:pdf test:${home}:/bin/sh\n`);
}

function sshdConfig(dir: string, v4: string, v6: string, port: number, path: string): string {
  return [
    `Port ${port}`,
    `ListenAddress ${v4}`,
    `ListenAddress ${v6}`,
    `HostKey ${join(dir, "ssh_host_ed25519_key")}`,
    `HostKey ${join(dir, "ssh_host_ecdsa_key")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    "UsePAM no",
    "StrictModes no",
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    `SetEnv PATH=${path}`,
    "LogLevel VERBOSE",
    "",
  ].join("\n");
}

/** Resolves once address:port accepts a TCP connection; throws with sshd's log if sshd exits or 20 s pass. */
export async function waitForPort(address: string, port: number, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port }, () => {
        socket.end();
        resolve(true);
      }).on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const output = await readFile(log, "utf8").catch(() => "(no log)");
  throw new Error(`sshd did not start listening on ${address}:${port}:\n${output}`);
}
