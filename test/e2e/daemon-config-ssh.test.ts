/**
 * DaemonConfig end to end, as `pulumi up`, `refresh` and `destroy` drive
 * it, against a real Docker 20.10 daemon reached over SSH.
 *
 * - Target: a DockerSandbox namespace T running dockerd 20.10, started with
 *   `--config-file` at the file the resource manages (in the daemon's own
 *   temporary directory), one client namespace, and sshd
 *   (../support/sandbox-sshd.ts) on a veth link to the root namespace. The
 *   daemon is restarted by a `restartCommand` the test provides
 *   (../support/daemon-restarter.ts): run over SSH in T, it asks this
 *   process to restart the daemon and waits until it has.
 * - Driver: the program in ../fixtures/programs/daemon-config is serialized
 *   exactly as `pulumi up` does, and its serialized provider is run by the
 *   real dynamic provider host in the ROOT namespace, which reaches T only
 *   over SSH.
 * - Round trips are counted on the server (sshd's ForceCommand wrapper).
 *
 * Story: check (an `impact`, nothing on the host) → create (`ip:
 * 127.0.0.1`, restart if-changed): a new `-p 8080:80` is DNATed on
 * 127.0.0.1 and the client no longer reaches it → read in sync, diff no
 * change → update (`liveRestore`, another restart) → delete: the file's
 * previous values are back, and a new container is published on every
 * address again. Bad input is a check failure that reaches nothing.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { compiledPath } from "../support/compiled";
import { startDaemonRestarter, type DaemonRestarter } from "../support/daemon-restarter";
import { DockerSandbox, httpUrl } from "../support/docker-sandbox";
import { pathWithoutLocalFirewall } from "../support/no-local-firewall";
import { ProviderHost, urn, type PropertyMap } from "../support/provider-host";
import { serializeProgram, type RegisteredResource } from "../support/pulumi-program";
import { startSandboxSshd, type SandboxSshd } from "../support/sandbox-sshd";

const REPO = path.resolve(__dirname, "..", "..");
const PROGRAM = compiledPath("test/fixtures/programs/daemon-config");
const PROJECT = "pdf-daemon";
const STACK = "e2e";
const TYPE = "pulumi-nodejs:dynamic/pulumi-docker-firewall:DaemonConfig";
const HOST_PORT = 8080;

let sandbox: DockerSandbox | undefined;
let sshd: SandboxSshd | undefined;
let restarter: DaemonRestarter | undefined;
let host: ProviderHost | undefined;
let scratch: string | undefined;
/** The daemon's config file as the lab wrote it, before the resource. */
let original = "";
/** Per provider call, the commands started on the server, for the summary. */
const measured: { call: string; execs: number; kinds: string[] }[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "pdf-e2e-daemon-"));
  // The provider host's PATH holds no usable iptables: only SSH reaches a firewall.
  const safePath = await pathWithoutLocalFirewall(scratch);
  // An unmanaged key of the lab's own, which every step must keep.
  sandbox = await DockerSandbox.start({ engine: "20.10", ipv6: false, clients: 1, daemonJson: { "log-level": "warn" } });
  original = await readFile(sandbox.daemon.configFile, "utf8");
  sshd = await startSandboxSshd(sandbox.target);
  restarter = await startDaemonRestarter(sandbox.daemon);
  host = await ProviderHost.start({ cwd: REPO, project: PROJECT, stack: STACK, config: stackConfig(), env: { PATH: safePath } });
  await host.configure();
}, 90_000);

afterAll(async () => {
  const steps: (() => Promise<unknown>)[] = [
    () => host?.close() ?? Promise.resolve(),
    () => restarter?.stop() ?? Promise.resolve(),
    () => sshd?.stop() ?? Promise.resolve(),
    () => sandbox?.stop() ?? Promise.resolve(),
    () => (scratch ? rm(scratch, { recursive: true, force: true }) : Promise.resolve()),
  ];
  const errors: unknown[] = [];
  for (const step of steps) await step().catch((error: unknown) => errors.push(error));
  if (measured.length > 0) {
    console.log(`remote commands per provider call (counted by sshd):\n${measured.map((m) => `  ${m.call}: ${m.execs} [${m.kinds.join(", ")}]`).join("\n")}`);
  }
  if (errors.length > 0) throw new AggregateError(errors, "cleanup failed");
}, 90_000);

// ---------------------------------------------------------------- helpers

function sb(): DockerSandbox {
  if (!sandbox) throw new Error("the sandbox did not start");
  return sandbox;
}

function server(): SandboxSshd {
  if (!sshd) throw new Error("sshd did not start");
  return sshd;
}

function provider(): ProviderHost {
  if (!host) throw new Error("the provider host did not start");
  return host;
}

function restarts(): number {
  if (!restarter) throw new Error("the restarter did not start");
  return restarter.restarts();
}

/** The whole stack config, full keys, as `pulumi config` would hold it. */
function stackConfig(overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  const s = server();
  const values: Record<string, string> = {
    host: s.address,
    port: String(s.port),
    privateKey: s.privateKey,
    hostKey: s.hostKey,
    path: sb().daemon.configFile,
    dockerHost: sb().daemon.host,
    restartCommand: JSON.stringify(restarter?.command ?? []),
    ip: "127.0.0.1",
    ...overrides,
  };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, v]));
}

/** Serializes the program as `pulumi up` does and returns the DaemonConfig it registers. */
async function serializeDaemon(overrides?: Readonly<Record<string, string>>): Promise<RegisteredResource> {
  const resources = await serializeProgram(PROGRAM, { project: PROJECT, stack: STACK, config: stackConfig(overrides) });
  const daemon = resources.find((r) => r.name === "daemon");
  if (!daemon) throw new Error(`the program registered no "daemon": ${resources.map((r) => r.name).join(", ")}`);
  return daemon;
}

/** What a command started over SSH was: the engine's read, its locked write, the restart command, the wait for the daemon. */
function kindOf(command: string): string {
  if (command.includes("flock")) return "write";
  if (command.includes("restart.sh")) return "restart";
  if (command.includes("version --format")) return "wait";
  if (command.includes("info --format")) return "read";
  return command.slice(0, 40);
}

/** Runs one provider call and returns its result and the kinds of the commands it started on the server. */
async function counted<T>(call: string, run: () => Promise<T>): Promise<{ result: T; kinds: string[] }> {
  const before = (await server().execs()).length;
  const result = await run();
  const kinds = (await server().execs()).slice(before).map((line) => kindOf(line.replace(/^\S+ /, "")));
  measured.push({ call, execs: kinds.length, kinds });
  return { result, kinds };
}

/** The parsed daemon.json. */
async function values(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(sb().daemon.configFile, "utf8")) as Record<string, unknown>;
}

/** The DNAT rules of Docker's nat table in T for the host port. */
async function dnat(): Promise<string[]> {
  const nat = await sb().target.run(["iptables-save", "-t", "nat"]);
  return nat.split("\n").filter((l) => l.startsWith("-A DOCKER ") && l.includes(`--dport ${HOST_PORT} `) && l.includes("-j DNAT"));
}

/** Removes `old` (when given) and publishes a new httpd on the host port; resolves the page client 0 gets, if any. */
async function republish(name: string, old?: string): Promise<string | undefined> {
  if (old) await sb().daemon.docker(["rm", "-f", old]);
  await sb().daemon.runHttpd(name, `${HOST_PORT}:80`);
  return sb().fetch(0, httpUrl(sb().clients[0].targetV4, HOST_PORT), 2);
}

// ---------------------------------------------------------------- the story

describe("DaemonConfig over SSH, through the provider host, with a real dockerd", () => {
  const daemonUrn = () => urn(PROJECT, STACK, TYPE, "daemon");
  let registered: RegisteredResource;
  let inputs: PropertyMap;
  let outputs: PropertyMap;
  let id: string;

  test("serialized as pulumi up does: connection is secret, the private key is not in __provider", async () => {
    registered = await serializeDaemon();
    expect(registered.type).toBe(TYPE);
    expect(registered.secretKeys).toContain("connection");
    expect(registered.inputs).toMatchObject({
      connection: { host: server().address, port: 22, user: "root", privateKey: server().privateKey, hostKey: server().hostKey },
      path: sb().daemon.configFile,
      restart: "if-changed",
      restartCommand: restarter!.command,
      ip: "127.0.0.1",
    });
    const serialized = String(registered.inputs.__provider);
    expect(serialized).not.toContain(server().privateKey.trim());
    expect(serialized).toContain('require("pulumi-docker-firewall/provider")');
  });

  test("check: the impact in words, and nothing run on the host", async () => {
    const { result, kinds } = await counted("check", () => provider().check(daemonUrn(), {}, registered.inputs));
    expect(result.failures).toEqual([]);
    expect(kinds).toEqual([]);
    expect(result.inputs.impact).toEqual(expect.arrayContaining([expect.stringMatching(/restart/)]));
    expect((result.inputs.impact as string[]).join("\n")).toMatch(/default bridge/);
    inputs = result.inputs;
  });

  test("create: ip 127.0.0.1 and one restart; a new -p 8080:80 is DNATed on 127.0.0.1 and the client no longer gets in", async () => {
    expect(await republish("before")).toBe("before\n");
    expect(await dnat()).toEqual([expect.stringMatching(/^-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT /)]);

    const { result, kinds } = await counted("create", () => provider().create(daemonUrn(), inputs));
    expect(kinds).toEqual(["read", "write", "restart", "wait", "read"]);
    ({ id, properties: outputs } = result);
    expect(id).toMatch(new RegExp(`:${sb().daemon.configFile}$`));
    expect(id).not.toContain(server().privateKey.trim());
    expect(restarts()).toBe(1);
    expect(outputs).toMatchObject({ previous: { ip: null }, restartRequired: false, drift: [], connection: inputs.connection, effective: { running: true, iptables: true } });
    expect(await values()).toEqual({ ...JSON.parse(original), ip: "127.0.0.1" });
    expect(await readFile(`${sb().daemon.configFile}.bak`, "utf8")).toBe(original);

    expect(await republish("after", "before")).toBeUndefined();
    expect(await dnat()).toEqual([expect.stringMatching(/^-A DOCKER -d 127\.0\.0\.1\/32 ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT /)]);
  });

  test("read in sync: one round trip, no drift, the daemon publishes on 127.0.0.1; diff: no change, nothing on the host", async () => {
    const read = await counted("read", () => provider().read(daemonUrn(), id, outputs, inputs));
    expect(read.kinds).toEqual(["read"]);
    expect(read.result.id).toBe(id);
    expect(read.result.properties).toMatchObject({ drift: [], effective: { running: true, publishedOn: ["127.0.0.1"] } });
    outputs = read.result.properties;

    const diff = await counted("diff", () => provider().diff(daemonUrn(), id, outputs, inputs, { oldInputs: inputs }));
    expect(diff.kinds).toEqual([]);
    expect(diff.result).toMatchObject({ changes: false, replaces: [] });
  });

  test("update: another key (liveRestore) is written beside ip, and the daemon restarted once more runs with it", async () => {
    const next = await serializeDaemon({ liveRestore: "true" });
    const checked = await counted("check (update)", () => provider().check(daemonUrn(), inputs, next.inputs));
    expect(checked.result.failures).toEqual([]);
    expect(checked.kinds).toEqual([]);

    const diff = await counted("diff (update)", () => provider().diff(daemonUrn(), id, outputs, checked.result.inputs, { oldInputs: inputs }));
    expect(diff.result).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });

    const { result, kinds } = await counted("update", () => provider().update(daemonUrn(), id, outputs, checked.result.inputs, { oldInputs: inputs }));
    expect(kinds).toEqual(["read", "write", "restart", "wait", "read"]);
    expect(restarts()).toBe(2);
    inputs = checked.result.inputs;
    outputs = result.properties;
    expect(outputs).toMatchObject({ previous: { ip: null, "live-restore": null }, restartRequired: false, drift: [], effective: { running: true, liveRestore: true } });
    expect(await values()).toEqual({ ...JSON.parse(original), ip: "127.0.0.1", "live-restore": true });
  });

  test("delete: the file is byte for byte as before (the keys that were absent removed), the daemon restarted, a new container is published on every address again", async () => {
    const { kinds } = await counted("delete", () => provider().delete(daemonUrn(), id, outputs, { oldInputs: inputs }));
    expect(kinds).toEqual(["read", "write", "restart", "wait"]);
    expect(restarts()).toBe(3);
    expect(await readFile(sb().daemon.configFile, "utf8")).toBe(original);

    expect(await republish("again", "after")).toBe("again\n");
    expect(await dnat()).toEqual([expect.stringMatching(/^-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT /)]);
  });

  test("every call went over one SSH connection", async () => {
    expect((await server().log()).match(/Accepted publickey for root/g)).toHaveLength(1);
  });
});

describe("bad input is a check failure, and nothing reaches the host", () => {
  const daemonUrn = () => urn(PROJECT, STACK, TYPE, "daemon");
  let registered: RegisteredResource;

  beforeAll(async () => {
    registered = await serializeDaemon();
  });

  /** Checks `news` and returns its failures, expecting no command on the server. */
  async function failuresOf(call: string, news: PropertyMap): Promise<readonly { property: string; reason: string }[]> {
    const { result, kinds } = await counted(call, () => provider().check(daemonUrn(), {}, news));
    expect(kinds).toEqual([]);
    expect(result.inputs.impact).toBeUndefined();
    return result.failures;
  }

  test("an unknown key names the key it most likely meant", async () => {
    const { restartCommand, ...rest } = registered.inputs;
    expect(await failuresOf("check (unknown key)", { ...rest, restartComand: restartCommand })).toEqual([
      { property: "restartComand", reason: 'unknown property "restartComand"; did you mean "restartCommand"?' },
    ]);
  });

  test("a restartCommand that is not a list of strings", async () => {
    // What a JavaScript program (no type checks) may pass.
    expect(await failuresOf("check (restartCommand a string)", { ...registered.inputs, restartCommand: "systemctl restart docker" })).toEqual([
      { property: "restartCommand", reason: expect.any(String) },
    ]);
    expect(await failuresOf("check (restartCommand with a number)", { ...registered.inputs, restartCommand: ["sleep", 5] })).toEqual([
      { property: "restartCommand[1]", reason: expect.any(String) },
    ]);
  });

  test("an ip that is not an address, from stack config through the program", async () => {
    const bad = await serializeDaemon({ ip: "localhost" });
    const failures = await failuresOf("check (ip not an address)", bad.inputs);
    expect(failures).toEqual([{ property: "ip", reason: expect.stringContaining("localhost") }]);
    const network = await serializeDaemon({ ip: "127.0.0.0/8" });
    expect(await failuresOf("check (ip a network)", network.inputs)).toEqual([{ property: "ip", reason: expect.stringMatching(/is a network/) }]);
  });

  test("the daemon's file is as delete left it", async () => {
    expect(await values()).toEqual(JSON.parse(original));
  });
});
