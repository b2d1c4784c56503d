import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The Docker engines the test lab runs, and what the lab must know about each
 * to start one: where its programs are, which daemon.json keys give it IPv6 on
 * the default bridge, and which firewall backends it has. Debian 12 ships only
 * 20.10 (`docker.io`, found on PATH); `.ci/install` unpacks the others from
 * `../shared/docker-engines` into {@link DEFAULT_ENGINES_DIR}, each in
 * `<version>/bin` with its own containerd and runc. Every fact here was seen
 * on the real daemons (see `docker-engines.test.ts`).
 */

/** Every engine the lab runs, oldest first: the versions users run. */
export const DOCKER_ENGINES = ["20.10", "26.1.5", "28.5.2", "29.7.2"] as const;

/** One of {@link DOCKER_ENGINES}. */
export type DockerEngine = (typeof DOCKER_ENGINES)[number];

/** The engine a daemon runs unless told otherwise: Debian 12's own. */
export const DEFAULT_ENGINE: DockerEngine = "20.10";

/** Where `.ci/install` unpacks the engines Debian 12 does not ship, one `<version>/bin` each. */
export const DEFAULT_ENGINES_DIR = "/opt/pulumi-docker-firewall/engines";

/** The environment variable that, when set, names another directory in place of {@link DEFAULT_ENGINES_DIR}. */
export const ENGINES_DIR_VARIABLE = "PDF_DOCKER_ENGINES_DIR";

/** How dockerd writes its firewall: iptables rules, or (29 and later) its own nftables tables. */
export type FirewallBackend = "iptables" | "nftables";

/** The programs dockerd runs for containers and published ports; one engine's must all come from one place. */
const ENGINE_PROGRAMS = ["dockerd", "docker-proxy", "containerd", "containerd-shim-runc-v2", "runc"] as const;

/** What the lab knows about one engine. */
interface EngineTraits {
  /** Debian's packages provide it on PATH (else it is unpacked into the engines directory). */
  readonly fromDebian: boolean;
  /** daemon.json keys, besides the subnet, that turn on IPv6 on the default bridge with ip6tables rules. */
  readonly ipv6Keys: Readonly<Record<string, unknown>>;
  /** The firewall backends it can use, its default first. */
  readonly backends: readonly FirewallBackend[];
}

const TRAITS: Readonly<Record<DockerEngine, EngineTraits>> = {
  // Before 27, ip6tables is off by default and only allowed with experimental features
  // (26.1.5: "ip6tables rules are only available if experimental features are enabled").
  "20.10": { fromDebian: true, ipv6Keys: { experimental: true, ip6tables: true, ipv6: true }, backends: ["iptables"] },
  "26.1.5": { fromDebian: false, ipv6Keys: { experimental: true, ip6tables: true, ipv6: true }, backends: ["iptables"] },
  // From 27, ip6tables is on by default.
  "28.5.2": { fromDebian: false, ipv6Keys: { ipv6: true }, backends: ["iptables"] },
  // 29 needs runc >= 1.2 (it asks for a time namespace): its own, unpacked beside it, not bookworm's 1.1.5.
  "29.7.2": { fromDebian: false, ipv6Keys: { ipv6: true }, backends: ["iptables", "nftables"] },
};

/** What an engine's daemon should be started with, beyond its defaults. */
export interface EngineSettingsRequest {
  /**
   * IPv6 on the default bridge with this subnet (`fixed-cidr-v6`), with
   * ip6tables rules.
   * @default undefined (IPv6 off on the bridge)
   */
  readonly ipv6Subnet?: string;
  /**
   * The firewall backend; throws when the engine lacks it.
   * @default undefined (the engine's default, iptables; no key written)
   */
  readonly firewallBackend?: FirewallBackend;
}

/** The engines directory: `$PDF_DOCKER_ENGINES_DIR` when set, else {@link DEFAULT_ENGINES_DIR}. */
export function enginesDir(): string {
  return process.env[ENGINES_DIR_VARIABLE] || DEFAULT_ENGINES_DIR;
}

/** The directory holding `engine`'s programs, or `undefined` for Debian's own engine (found on PATH). */
export function engineBinDir(engine: DockerEngine): string | undefined {
  return TRAITS[engine].fromDebian ? undefined : path.join(enginesDir(), engine, "bin");
}

/**
 * The PATH under which dockerd of `engine` finds that engine's docker-proxy,
 * containerd, containerd-shim-runc-v2 and runc: its own directory first, then
 * `basePath`.
 */
export function enginePath(engine: DockerEngine, basePath = process.env.PATH ?? ""): string {
  const bin = engineBinDir(engine);
  return bin === undefined ? basePath : [bin, basePath].filter(Boolean).join(path.delimiter);
}

/** The programs `engine` needs that are not in its directory (or, for Debian's engine, on PATH); empty when it can run. */
function missingPrograms(engine: DockerEngine): string[] {
  const bin = engineBinDir(engine);
  const dirs = bin !== undefined ? [bin] : (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  return ENGINE_PROGRAMS.filter((program) => !dirs.some((dir) => isExecutable(path.join(dir, program))));
}

/** What `engine` lacks and where it was looked for, e.g. `26.1.5 (no dockerd, runc in /x/26.1.5/bin)`; `undefined` when it can run. */
export function engineShortfall(engine: DockerEngine): string | undefined {
  const missing = missingPrograms(engine);
  return missing.length === 0 ? undefined : `${engine} (no ${missing.join(", ")} in ${engineBinDir(engine) ?? "PATH"})`;
}

/** The engines of `wanted` whose programs are all there. */
export function availableEngines(wanted: readonly DockerEngine[] = DOCKER_ENGINES): DockerEngine[] {
  return wanted.filter((engine) => missingPrograms(engine).length === 0);
}

/** Engines already reported missing by {@link enginesUnderTest} in this process. */
const reportedMissing = new Set<DockerEngine>();

/**
 * The engines of `wanted` that a test file should run its tests against, e.g.
 * `describe.each(enginesUnderTest())("Docker %s", (engine) => …)`. Under
 * `CI=true` every engine must be there: a missing one throws, which fails the
 * test file. Elsewhere the missing ones are left out and named once per
 * process on stderr, with where they were looked for.
 */
export function enginesUnderTest(wanted: readonly DockerEngine[] = DOCKER_ENGINES): DockerEngine[] {
  const available = availableEngines(wanted);
  const missing = wanted.filter((engine) => !available.includes(engine));
  if (missing.length === 0) return available;
  if (process.env.CI === "true") {
    throw new Error(`Docker engines missing under CI=true, where every engine must run: ${missing.map(engineShortfall).join("; ")}; .ci/install provides them`);
  }
  const unreported = missing.filter((engine) => !reportedMissing.has(engine));
  if (unreported.length > 0) {
    for (const engine of unreported) reportedMissing.add(engine);
    console.warn(`not running the tests for Docker ${unreported.map(engineShortfall).join("; ")}. Run .ci/install (or set ${ENGINES_DIR_VARIABLE}).`);
  }
  return available;
}

/**
 * The daemon.json keys that give `engine` what `request` asks for; `{}` for
 * its default settings. Throws when it asks for a firewall backend the
 * engine does not have.
 */
export function engineSettings(engine: DockerEngine, request: EngineSettingsRequest): Record<string, unknown> {
  const traits = TRAITS[engine];
  const settings: Record<string, unknown> = {};
  if (request.ipv6Subnet !== undefined) Object.assign(settings, traits.ipv6Keys, { "fixed-cidr-v6": request.ipv6Subnet });
  if (request.firewallBackend !== undefined) {
    if (!traits.backends.includes(request.firewallBackend)) {
      throw new Error(`Docker ${engine} has no ${request.firewallBackend} firewall backend (it has ${traits.backends.join(", ")})`);
    }
    // Older engines reject unknown daemon.json keys: write the key only when it is not the default.
    if (request.firewallBackend !== traits.backends[0]) settings["firewall-backend"] = request.firewallBackend;
  }
  return settings;
}

/**
 * Whether a daemon with `backend` starts only when forwarding is already on
 * in its namespace (`net.ipv4.ip_forward=1`). Docker 29's nftables backend
 * neither turns it on nor starts without it; with iptables, dockerd turns it
 * on itself and sets FORWARD's policy to DROP.
 */
export function needsForwardingBeforeStart(backend: FirewallBackend): boolean {
  return backend === "nftables";
}

/** Whether `serverVersion` (as `docker version` reports it, e.g. `26.1.5+dfsg1`, `20.10.24+dfsg1`) is `engine`. */
export function isEngineVersion(engine: DockerEngine, serverVersion: string): boolean {
  return serverVersion === engine || (serverVersion.startsWith(engine) && /^[.+-]/.test(serverVersion.slice(engine.length)));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The firewall backends an engine can use, its default first. */
export function engineBackends(engine: DockerEngine): readonly FirewallBackend[] {
  return TRAITS[engine].backends;
}
