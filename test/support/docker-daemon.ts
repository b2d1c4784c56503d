import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { ExecResult } from "../../provider/host/host";
import {
  DEFAULT_ENGINE,
  enginePath,
  engineShortfall,
  engineSettings,
  isEngineVersion,
  type DockerEngine,
  type FirewallBackend,
} from "./docker-engines";
import type { Netns } from "./netns";
import { run } from "./netns";

/**
 * A real Docker daemon for tests (any engine of `docker-engines.ts`, Debian's
 * dockerd 20.10 by default), running inside a network namespace made by the
 * test, with its state in a fresh temporary directory. Everything it starts,
 * mounts or writes is removed by `stop()`; daemons still alive when the
 * process exits are killed then.
 */

/** The IPv6 subnet of the default bridge when a daemon is started with `ipv6: true`. */
export const DOCKER_IPV6_SUBNET = "2001:db8:dd::/64";

/** The name of the image that {@link DockerDaemon.importBusyboxImage} builds. */
export const BUSYBOX_IMAGE = "bb";

/** Where Debian's busybox-static puts its binary. */
const BUSYBOX_BINARY = "/bin/busybox";

/**
 * The docker CLI that drives every daemon: Debian's (`docker.io` 20.10, API
 * 1.41), as on a fresh Debian 12 machine, whatever else is on PATH. Every
 * engine of the lab accepts it (29.7.2's minimum API version is 1.40).
 */
const DOCKER_CLI = "/usr/bin/docker";

/**
 * daemon.json keys the lab sets itself, and how: as dockerd flags (dockerd
 * refuses a key given both ways), or through an option of its own.
 */
const LAB_KEYS: Readonly<Record<string, string>> = {
  "data-root": "--data-root",
  "exec-root": "--exec-root",
  pidfile: "--pidfile",
  hosts: "-H",
  "cgroup-parent": "--cgroup-parent",
  "firewall-backend": "the firewallBackend option",
};

/**
 * Seconds a container is given to stop before it is killed: busybox httpd
 * runs as PID 1 and ignores SIGTERM, so the default 10 s would only slow
 * every stop and daemon restart.
 */
const HTTPD_STOP_TIMEOUT_S = 1;

/** How long a restart waits for dockerd to stop its containers and exit. */
const RESTART_EXIT_TIMEOUT_MS = 60_000;

const DOCKER_TIMEOUT_MS = 30_000;
const alive = new Set<DockerDaemon>();

process.on("exit", () => {
  for (const daemon of alive) daemon.killNow();
});

/** Options for {@link DockerDaemon.start}. */
export interface DockerDaemonOptions {
  /**
   * The engine to run: `"20.10"` is Debian's own dockerd, containerd and
   * runc (on PATH); the others run from the engines directory with their own
   * docker-proxy, containerd and runc (see `docker-engines.ts`).
   * @default "20.10"
   */
  readonly engine?: DockerEngine;
  /**
   * Turns on IPv6 on the default bridge (subnet {@link DOCKER_IPV6_SUBNET})
   * with ip6tables rules, with the daemon.json keys the engine needs for
   * that (before 27: `experimental` and `ip6tables` too).
   * @default false
   */
  readonly ipv6?: boolean;
  /**
   * More daemon.json keys, written into the daemon's own config file over
   * the lab's (so they win over what `ipv6` sets), e.g. `{ "iptables": false
   * }` or `{ "userland-proxy": false }`. The keys the lab sets itself
   * (`data-root`, `exec-root`, `pidfile`, `hosts`, `cgroup-parent`,
   * `firewall-backend`) are refused.
   * @default {}
   */
  readonly daemonJson?: Readonly<Record<string, unknown>>;
  /**
   * The firewall backend. `"nftables"` exists only from 29 and starts only
   * when `net.ipv4.ip_forward=1` in the namespace (see
   * `needsForwardingBeforeStart`; `DockerSandbox` sees to it).
   * @default "iptables"
   */
  readonly firewallBackend?: FirewallBackend;
  /**
   * More dockerd arguments, appended last, e.g. `["--userland-proxy=false"]`.
   * @default []
   */
  readonly extraArgs?: readonly string[];
  /**
   * Milliseconds to wait for the daemon to answer on its socket.
   * @default 30000
   */
  readonly startTimeoutMs?: number;
}

/** Extra choices for {@link DockerDaemon.runHttpd}. */
export interface HttpdOptions {
  /**
   * Runs the container with `--restart always`, so that it comes back when
   * the daemon is restarted ({@link DockerDaemon.restart}).
   * @default false
   */
  readonly restart?: boolean;
  /**
   * More `docker run` arguments, placed before the image name, e.g.
   * `["--network", "mynet"]`.
   * @default []
   */
  readonly runArgs?: readonly string[];
}

/** A container started by {@link DockerDaemon.runHttpd}. */
export interface HttpdContainer {
  /** The container's full id. */
  readonly id: string;
  /** The container's name; its page's body is this name and a newline. */
  readonly name: string;
  /** The container's IPv4 address on its (first) network. */
  readonly ipv4: string;
  /** The container's IPv6 address, when its network has IPv6. */
  readonly ipv6: string | undefined;
}

/** A dockerd running inside a test's network namespace. */
export class DockerDaemon {
  /** The value for `DOCKER_HOST`, e.g. `unix:///tmp/pdf-dockerd-Ab12Cd/docker.sock`. */
  readonly host: string;
  /** The cgroup parent of this daemon's containers (absolute, unique per daemon). */
  private readonly cgroupParent: string;
  /** nsenter's arguments that start dockerd, the same at every (re)start. */
  private readonly argv: readonly string[];
  /** dockerd's environment: PATH leads to the engine's own programs. */
  private readonly env: NodeJS.ProcessEnv;
  private child: ChildProcess | undefined;
  private exited = false;
  /** Processes of earlier runs of dockerd (before a restart); `stop()` ends those still running. */
  private readonly earlier: ProcessEntry[] = [];
  private imageImport: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    /** The namespace the daemon runs in (its firewall is that namespace's). */
    readonly netns: Netns,
    /** The daemon's private temporary directory (data root, exec root, socket, log). */
    readonly dir: string,
    /** The engine it runs. */
    readonly engine: DockerEngine,
    /** The firewall backend it writes its rules with. */
    readonly firewallBackend: FirewallBackend,
    extraArgs: readonly string[],
  ) {
    this.host = `unix://${path.join(dir, "docker.sock")}`;
    this.cgroupParent = `/${path.basename(dir)}`;
    this.argv = [
      `--net=/var/run/netns/${netns.name}`,
      "dockerd",
      "--config-file", this.configPath(),
      "--data-root", path.join(dir, "data"),
      "--exec-root", path.join(dir, "exec"),
      "--pidfile", path.join(dir, "pid"),
      "-H", this.host,
      "--cgroup-parent", this.cgroupParent,
      ...extraArgs,
    ];
    this.env = { ...process.env, PATH: enginePath(engine) };
  }

  /**
   * Starts dockerd of `options.engine` in `netns` with its own config file
   * and resolves once it answers `docker version` with that engine's
   * version. Enters only the network namespace (`nsenter --net`), because
   * `ip netns exec` remounts /sys and hides the cgroup mounts dockerd needs.
   * On failure everything started so far is removed and the error shows the
   * daemon log.
   */
  static async start(netns: Netns, options: DockerDaemonOptions = {}): Promise<DockerDaemon> {
    const engine = options.engine ?? DEFAULT_ENGINE;
    const shortfall = engineShortfall(engine);
    if (shortfall !== undefined) throw new Error(`Docker ${shortfall} cannot run here; .ci/install provides it`);
    const config = daemonConfig(engine, options);
    const dir = fs.realpathSync(await mkdtemp(path.join(os.tmpdir(), "pdf-dockerd-")));
    const daemon = new DockerDaemon(netns, dir, engine, options.firewallBackend ?? "iptables", options.extraArgs ?? []);
    alive.add(daemon);
    try {
      // Its own config and containerd: nothing of this machine's Docker set-up may leak in.
      await writeFile(daemon.configPath(), config);
      await daemon.launch(options.startTimeoutMs ?? 30_000);
    } catch (error) {
      const failure = daemon.withLog(error);
      try {
        await daemon.stop();
      } catch (cleanupError) {
        throw new AggregateError([failure, cleanupError], `${failure.message}\n--- and its cleanup failed too`);
      }
      throw failure;
    }
    return daemon;
  }

  /** Runs the docker CLI against this daemon and returns stdout; throws with stderr when it fails. */
  async docker(argv: readonly string[], options: { readonly timeoutMs?: number } = {}): Promise<string> {
    const result = await this.dockerExec(argv, options.timeoutMs);
    if (result.code !== 0) {
      throw new Error(`\`docker ${argv.join(" ")}\` exited with ${result.code}: ${result.stderr.trim()}`);
    }
    return result.stdout;
  }

  /**
   * Builds the image `bb` from the host's static busybox (every applet linked
   * in /bin), once per daemon; later calls wait for the first.
   */
  importBusyboxImage(): Promise<void> {
    this.imageImport ??= this.buildBusyboxImage().catch((error: unknown) => {
      this.imageImport = undefined;
      throw error;
    });
    return this.imageImport;
  }

  /**
   * Runs `docker run -d --name NAME -p PUBLISH bb /bin/httpd -f -p 80 -h /www`
   * with a page at /www/index.html whose body is the container's name (bind
   * mounted read-only), and resolves once the container serves that page on
   * its own addresses (IPv4 and, if it has one, IPv6). The container is
   * killed 1 s after a stop's SIGTERM, which httpd as PID 1 ignores.
   *
   * @param name container name (letters, digits, `_`, `.`, `-`)
   * @param publish a `-p` value, e.g. `8080:80` or `127.0.0.1:8081:80`
   */
  async runHttpd(name: string, publish: string, options: HttpdOptions = {}): Promise<HttpdContainer> {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) throw new Error(`invalid container name ${JSON.stringify(name)}`);
    await this.importBusyboxImage();
    const pageDir = path.join(this.dir, "pages", name);
    await mkdir(pageDir, { recursive: true });
    await writeFile(path.join(pageDir, "index.html"), `${name}\n`);
    const argv = [
      "run", "-d", "--name", name, "-p", publish, "-v", `${pageDir}:/www:ro`,
      "--stop-timeout", String(HTTPD_STOP_TIMEOUT_S),
      ...(options.restart ? ["--restart", "always"] : []),
      ...(options.runArgs ?? []),
    ];
    await this.docker([...argv, BUSYBOX_IMAGE, "/bin/httpd", "-f", "-p", "80", "-h", "/www"]);
    return this.waitForHttpd(name);
  }

  /**
   * Waits until the httpd container `name` (see {@link runHttpd}) runs and
   * serves its page on its own addresses, and returns them: after a restart
   * they may be new.
   */
  async waitForHttpd(name: string, timeoutMs = 30_000): Promise<HttpdContainer> {
    const deadline = Date.now() + timeoutMs;
    const format = "{{.Id}} {{.State.Running}}|{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.GlobalIPv6Address}}|{{end}}";
    for (;;) {
      const inspected = await this.dockerExec(["inspect", "-f", format, name], 10_000);
      const [state = "", addresses = ""] = inspected.stdout.split("|");
      const [id = "", running = ""] = state.trim().split(" ");
      const [ipv4 = "", ipv6 = ""] = addresses.trim().split(" ");
      if (inspected.code === 0 && running === "true" && ipv4) {
        const container: HttpdContainer = { id, name, ipv4, ipv6: ipv6 || undefined };
        await this.waitUntilServing(container, deadline);
        return container;
      }
      if (Date.now() > deadline) {
        const seen = inspected.code === 0 ? `running=${running}, address ${ipv4 || "none"}` : inspected.stderr.trim();
        throw new Error(`container ${name} is not running with an address within ${timeoutMs} ms (${seen})`);
      }
      await sleep(200);
    }
  }

  /**
   * Restarts dockerd as a service manager would: SIGTERM, so that it stops
   * its containers (unless `live-restore`) and its containerd and exits;
   * then starts it again with the same arguments, config, data root and
   * containers, and resolves once it answers. Containers run with `restart:
   * true` come back, maybe with new addresses: {@link waitForHttpd} waits
   * for them. On failure the error shows the daemon log; `stop()` still
   * removes everything.
   */
  async restart(options: { readonly startTimeoutMs?: number } = {}): Promise<void> {
    const child = this.child;
    if (this.stopping || child?.pid === undefined || this.exited) throw new Error(`dockerd in ${this.netns.name} is not running`);
    const processes = relatedProcesses(this.dir, child.pid);
    this.earlier.push(...processes);
    try {
      child.kill("SIGTERM");
      if (!(await this.waitForExit(RESTART_EXIT_TIMEOUT_MS))) {
        throw new Error(`dockerd in ${this.netns.name} did not exit within ${RESTART_EXIT_TIMEOUT_MS} ms of SIGTERM`);
      }
      // Its containerd goes down after it; a new one must not meet the old one on its socket.
      await waitUntilGone(processes.filter((p) => p.ppid === child.pid && p.cmdline.startsWith("containerd ")), 15_000);
      await this.launch(options.startTimeoutMs ?? 30_000);
    } catch (error) {
      throw this.withLog(error);
    }
  }

  /**
   * Removes every container, stops dockerd (SIGTERM, then SIGKILL after 10 s)
   * and its containerd, kills anything of theirs left over (also from before
   * a restart), unmounts everything under the temporary directory, removes
   * this daemon's cgroups and the directory. Safe to call twice and after a
   * failed start.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /**
   * Last-resort synchronous cleanup for process exit: SIGKILLs the daemon's
   * processes, lazily unmounts, removes the directory and the cgroups.
   * Prefer `stop()`.
   */
  killNow(): void {
    const processes = [...relatedProcesses(this.dir, this.child?.pid), ...this.earlier];
    signal(processes, "SIGKILL");
    for (let i = 0; i < 30 && processes.some(stillRunning); i++) sleepSync(100);
    for (const mount of mountsUnder(this.dir)) {
      try {
        execFileSync("umount", ["-l", mount], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
    if (mountsUnder(this.dir).length === 0) fs.rmSync(this.dir, { recursive: true, force: true });
    for (let attempt = 1; attempt <= 10; attempt++) {
      try {
        removeCgroups(this.cgroupParent);
        break;
      } catch {
        sleepSync(100);
      }
    }
    alive.delete(this);
  }

  /** Spawns dockerd and waits until it answers as the expected engine. */
  private async launch(timeoutMs: number): Promise<void> {
    this.exited = false;
    const log = fs.openSync(this.logPath(), "a");
    try {
      const child = spawn("nsenter", this.argv, { stdio: ["ignore", log, log], env: this.env });
      this.child = child;
      child.unref();
      child.on("exit", () => {
        if (this.child === child) this.exited = true;
      });
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", reject);
      });
    } finally {
      fs.closeSync(log);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error(`dockerd in ${this.netns.name} exited before it answered on ${this.host}`);
      const result = await this.dockerExec(["version", "--format", "{{.Server.Version}}"], 5_000);
      if (result.code === 0) {
        const version = result.stdout.trim();
        if (isEngineVersion(this.engine, version)) return;
        throw new Error(`dockerd in ${this.netns.name} is ${version}, not Docker ${this.engine} (PATH=${this.env.PATH})`);
      }
      if (Date.now() > deadline) {
        throw new Error(`dockerd in ${this.netns.name} did not answer on ${this.host} within ${timeoutMs} ms`);
      }
      await sleep(200);
    }
  }

  private async buildBusyboxImage(): Promise<void> {
    const root = path.join(this.dir, "image-root");
    await mkdir(path.join(root, "bin"), { recursive: true });
    await mkdir(path.join(root, "www"), { recursive: true });
    await copyFile(BUSYBOX_BINARY, path.join(root, "bin", "busybox"));
    await fs.promises.chmod(path.join(root, "bin", "busybox"), 0o755);
    const applets = (await run([BUSYBOX_BINARY, "--list"])).split("\n").filter((a) => a && a !== "busybox");
    for (const applet of applets) await symlink("busybox", path.join(root, "bin", applet));
    const tarball = path.join(this.dir, "image.tar");
    await run(["tar", "-C", root, "-cf", tarball, "."]);
    await this.docker(["import", tarball, BUSYBOX_IMAGE]);
  }

  /** Polls from the daemon's namespace until the container serves its page, until `deadline` (ms since the epoch). */
  private async waitUntilServing(container: HttpdContainer, deadline: number): Promise<void> {
    const urls = [`http://${container.ipv4}:80/`];
    if (container.ipv6) urls.push(`http://[${container.ipv6}]:80/`);
    for (const url of urls) {
      for (;;) {
        const result = await this.netns.exec(["timeout", "1", "busybox", "wget", "-q", "-O", "-", url]);
        if (result.code === 0 && result.stdout === `${container.name}\n`) break;
        if (Date.now() > deadline) throw new Error(`container ${container.name} does not serve ${url} in time`);
        await sleep(100);
      }
    }
  }

  private async shutdown(): Promise<void> {
    const child = this.child;
    if (child?.pid !== undefined && !this.exited) {
      const ids = await this.dockerExec(["ps", "-aq"], 10_000);
      if (ids.code === 0 && ids.stdout.trim()) {
        await this.dockerExec(["rm", "-f", ...ids.stdout.trim().split(/\s+/)], DOCKER_TIMEOUT_MS);
      }
      const snapshot = relatedProcesses(this.dir, child.pid);
      child.kill("SIGTERM");
      if (!(await this.waitForExit(10_000))) {
        child.kill("SIGKILL");
        await this.waitForExit(15_000);
      }
      signal(snapshot, "SIGKILL");
      await waitUntilGone(snapshot, 15_000);
    }
    const leftovers = [...relatedProcesses(this.dir, undefined), ...this.earlier];
    signal(leftovers, "SIGKILL");
    await waitUntilGone(leftovers, 15_000);
    await unmountUnder(this.dir);
    await removeCgroupsPatiently(this.cgroupParent);
    await rm(this.dir, { recursive: true, force: true });
    alive.delete(this);
  }

  private async waitForExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.exited && Date.now() < deadline) await sleep(100);
    return this.exited;
  }

  private dockerExec(argv: readonly string[], timeoutMs = DOCKER_TIMEOUT_MS): Promise<ExecResult> {
    const env = { ...process.env, DOCKER_HOST: this.host, DOCKER_CONFIG: path.join(this.dir, "cli-config") };
    return new Promise((resolve, reject) => {
      execFile(DOCKER_CLI, argv, { env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
        if (error && typeof error.code === "string") {
          reject(new Error(`cannot run ${DOCKER_CLI}: ${error.message}`));
          return;
        }
        const code = error ? (typeof error.code === "number" ? error.code : 124) : 0;
        resolve({ code, stdout, stderr: error?.killed ? `timed out after ${timeoutMs} ms\n${stderr}` : stderr });
      });
    });
  }

  /** `error` with the last lines of the daemon log appended. */
  private withLog(error: unknown): Error {
    return new Error(`${(error as Error).message}\n--- dockerd ${this.engine} log (last lines) ---\n${this.logTail()}`, { cause: error });
  }

  /** The daemon's config file (`dockerd --config-file`), which tests may edit before a {@link restart}. */
  get configFile(): string {
    return this.configPath();
  }

  private configPath(): string {
    return path.join(this.dir, "daemon.json");
  }

  private logPath(): string {
    return path.join(this.dir, "dockerd.log");
  }

  private logTail(lines = 40): string {
    try {
      const log = fs.readFileSync(this.logPath(), "utf8").trimEnd();
      return log ? log.split("\n").slice(-lines).join("\n") : "(empty)";
    } catch {
      return "(no log)";
    }
  }
}

/**
 * The daemon's config file: the engine's settings for what `options` asks,
 * then `options.daemonJson`, keys sorted. Throws for keys the lab sets itself.
 */
function daemonConfig(engine: DockerEngine, options: DockerDaemonOptions): string {
  const extra = options.daemonJson ?? {};
  const refused = Object.keys(extra).filter((key) => key in LAB_KEYS);
  if (refused.length > 0) {
    throw new Error(`daemonJson may not set ${refused.map((key) => `"${key}" (the lab sets it with ${LAB_KEYS[key]})`).join(", ")}`);
  }
  const settings = {
    ...engineSettings(engine, { ipv6Subnet: options.ipv6 ? DOCKER_IPV6_SUBNET : undefined, firewallBackend: options.firewallBackend }),
    ...extra,
  };
  const sorted = Object.fromEntries(Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/** One process, identified by pid and start time so that a reused pid is never mistaken for it. */
interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly startTime: string;
  readonly zombie: boolean;
  readonly cmdline: string;
}

function readProcess(pid: number): ProcessEntry | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
    return { pid, ppid: Number(fields[1]), startTime: fields[19], zombie: fields[0] === "Z", cmdline };
  } catch {
    return undefined;
  }
}

function processTable(): ProcessEntry[] {
  return fs
    .readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((entry): entry is ProcessEntry => entry !== undefined);
}

/** The process `rootPid`, every process whose command line names `dir`, and all their descendants. */
function relatedProcesses(dir: string, rootPid: number | undefined): ProcessEntry[] {
  const table = processTable();
  const found = new Map<number, ProcessEntry>();
  for (const entry of table) {
    if (entry.pid === rootPid || entry.cmdline.includes(dir)) found.set(entry.pid, entry);
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const entry of table) {
      if (!found.has(entry.pid) && found.has(entry.ppid)) {
        found.set(entry.pid, entry);
        grew = true;
      }
    }
  }
  return [...found.values()];
}

function stillRunning(entry: ProcessEntry): boolean {
  const now = readProcess(entry.pid);
  return now !== undefined && now.startTime === entry.startTime && !now.zombie;
}

function signal(entries: readonly ProcessEntry[], sig: NodeJS.Signals): void {
  for (const entry of entries) {
    if (!stillRunning(entry)) continue;
    try {
      process.kill(entry.pid, sig);
    } catch {
      // exited meanwhile
    }
  }
}

async function waitUntilGone(entries: readonly ProcessEntry[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = entries.filter(stillRunning);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still running: ${left.map((e) => `${e.pid} ${e.cmdline}`).join("; ")}`);
    await sleep(100);
  }
}

/** Mount points at or under `dir` in this process's mount namespace, deepest first. */
function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ")[4].replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((mount) => mount === dir || mount.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) return;
    for (const mount of mounts) {
      await run(["umount", mount]).catch(() => run(["umount", "-l", mount]));
    }
  }
  throw new Error(`cannot unmount ${mountsUnder(dir).join(", ")}`);
}

/** Removes `parent` (and the container cgroups below it) from every cgroup hierarchy. */
function removeCgroups(parent: string): void {
  const hierarchies = fs.readdirSync("/sys/fs/cgroup").map((name) => path.join("/sys/fs/cgroup", name));
  for (const top of [...hierarchies, "/sys/fs/cgroup"].map((h) => path.join(h, parent))) {
    if (!fs.existsSync(top)) continue;
    for (const dir of cgroupDirs(top).reverse()) fs.rmdirSync(dir);
  }
}

/** {@link removeCgroups}, retried briefly while the kernel still counts exited tasks. */
async function removeCgroupsPatiently(parent: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      removeCgroups(parent);
      return;
    } catch (error) {
      if (attempt === 150) throw error;
      await sleep(100);
    }
  }
}

/** `dir` and the directories below it, parents before children. */
function cgroupDirs(dir: string): string[] {
  const children = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => cgroupDirs(path.join(dir, entry.name)));
  return [dir, ...children];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Blocks the thread; only for the exit handler, where no event loop runs. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
