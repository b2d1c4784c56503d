/**
 * BridgeNetwork end to end, as `pulumi up`, `refresh` and `destroy` drive
 * it, against a real Docker 20.10 daemon reached over SSH.
 *
 * - Target: a DockerSandbox namespace T running dockerd 20.10, two client
 *   namespaces each running a busybox httpd (started here, killed with the
 *   namespace), and sshd (../support/sandbox-sshd.ts) on a veth link to the
 *   root namespace.
 * - Driver: the program in ../fixtures/programs/bridge-network is serialized
 *   exactly as `pulumi up` does, and its serialized provider is run by the
 *   real dynamic provider host in the ROOT namespace (its PATH holds no
 *   usable iptables), which reaches T only over SSH.
 * - Round trips are counted on the server (sshd's ForceCommand wrapper).
 *
 * Story: check (nothing on the host) → create (`icc: false`, outbound only
 * to client 0): a container on the network reaches client 0, not client 1,
 * and two containers on it cannot reach each other → read in sync (one
 * round trip), diff no change → a policy change updates in place (same
 * network id, no docker create or remove) → a subnet change is a
 * replacement → delete: the network and our rules are gone. Bad input is a
 * check failure that reaches nothing.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { compiledPath } from "../support/compiled";
import { DockerSandbox, httpUrl } from "../support/docker-sandbox";
import { pathWithoutLocalFirewall } from "../support/no-local-firewall";
import { ProviderHost, urn, type PropertyMap } from "../support/provider-host";
import { serializeProgram, type RegisteredResource } from "../support/pulumi-program";
import { startSandboxSshd, type SandboxSshd } from "../support/sandbox-sshd";

const REPO = path.resolve(__dirname, "..", "..");
const PROGRAM = compiledPath("test/fixtures/programs/bridge-network");
const PROJECT = "pdf-network";
const STACK = "e2e";
const TYPE = "pulumi-nodejs:dynamic/pulumi-docker-firewall:BridgeNetwork";
const NETWORK = "pdfnet";
const BRIDGE = "br-pdfnet";
const SUBNET = "10.77.0.0/24";

let sandbox: DockerSandbox | undefined;
let sshd: SandboxSshd | undefined;
let host: ProviderHost | undefined;
let scratch: string | undefined;
/** Per provider call, the commands started on the server, for the summary. */
const measured: { call: string; execs: number; kinds: string[] }[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "pdf-e2e-network-"));
  // The provider host's PATH holds no usable iptables: only SSH reaches a firewall.
  const safePath = await pathWithoutLocalFirewall(scratch);
  sandbox = await DockerSandbox.start({ engine: "20.10", ipv6: false, clients: 2 });
  await sandbox.daemon.importBusyboxImage();
  for (const [i, client] of sandbox.clients.entries()) {
    await writeFile(path.join(scratch, `${i}.html`), `client ${i}\n`);
    // busybox httpd goes to the background; it dies with the client's namespace (sandbox.stop()).
    await client.ns.run(["busybox", "httpd", "-p", "8080", "-h", scratch, "-c", "/dev/null"]);
  }
  sshd = await startSandboxSshd(sandbox.target);
  host = await ProviderHost.start({ cwd: REPO, project: PROJECT, stack: STACK, config: stackConfig(), env: { PATH: safePath } });
  await host.configure();
}, 120_000);

afterAll(async () => {
  const steps: (() => Promise<unknown>)[] = [
    () => host?.close() ?? Promise.resolve(),
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
}, 120_000);

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

/** The whole stack config, full keys, as `pulumi config` would hold it. */
function stackConfig(overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  const s = server();
  const values: Record<string, string> = {
    host: s.address,
    port: String(s.port),
    privateKey: s.privateKey,
    hostKey: s.hostKey,
    dockerHost: sb().daemon.host,
    networkName: NETWORK,
    bridgeName: BRIDGE,
    subnet: SUBNET,
    allowOutboundTo: JSON.stringify([`${sb().clients[0].v4}/32`]),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, v]));
}

/** Serializes the program as `pulumi up` does and returns the BridgeNetwork it registers. */
async function serializeNetwork(overrides?: Readonly<Record<string, string>>): Promise<RegisteredResource> {
  const resources = await serializeProgram(PROGRAM, { project: PROJECT, stack: STACK, config: stackConfig(overrides) });
  const network = resources.find((r) => r.name === "backend");
  if (!network) throw new Error(`the program registered no "backend": ${resources.map((r) => r.name).join(", ")}`);
  return network;
}

/**
 * What a command started over SSH was: a docker network script (create; read,
 * which also saves the tables; remove), the firewall snapshot a transaction
 * plans against, or the transaction itself.
 */
function kindOf(command: string): string {
  if (command.includes("network create")) return "create";
  if (command.includes("network rm")) return "remove";
  if (command.includes("network inspect")) return "read";
  if (command.includes("s=$1 lock=${2-}")) return "snapshot";
  if (command.includes("ticket=$5")) return "apply";
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

/** Whether container `name` gets a page from `url` (within 3 s). */
function containerFetches(name: string, url: string): Promise<string | undefined> {
  return sb().daemon.docker(["exec", name, "/bin/busybox", "timeout", "3", "/bin/busybox", "wget", "-q", "-O", "-", url], { timeoutMs: 10_000 }).then(
    (body) => body,
    () => undefined,
  );
}

/** Client `i`'s page. */
function clientPage(i: number): string {
  return `${httpUrl(sb().clients[i].v4, 8080)}/${i}.html`;
}

/** The names of the daemon's networks. */
async function networks(): Promise<string[]> {
  return (await sb().daemon.docker(["network", "ls", "--format", "{{.Name}}"])).split("\n").filter(Boolean);
}

/** The network's policy rules in T's filter table: those tagged with the owner the SDK derived from the stack and the resource name. */
async function ourRules(): Promise<string[]> {
  const owner = String((await serializeNetwork()).inputs.__owner);
  return (await sb().target.run(["iptables-save", "-t", "filter"])).split("\n").filter((l) => l.includes(`pdf:${owner}:`));
}

// ---------------------------------------------------------------- the story

describe("BridgeNetwork over SSH, through the provider host, with a real dockerd", () => {
  const networkUrn = () => urn(PROJECT, STACK, TYPE, "backend");
  let registered: RegisteredResource;
  let inputs: PropertyMap;
  let outputs: PropertyMap;
  let id: string;

  test("serialized as pulumi up does: connection is secret, the private key is not in __provider", async () => {
    registered = await serializeNetwork();
    expect(registered.type).toBe(TYPE);
    expect(registered.secretKeys).toContain("connection");
    expect(registered.inputs).toMatchObject({
      connection: { host: server().address, port: 22, user: "root", privateKey: server().privateKey, hostKey: server().hostKey },
      networkName: NETWORK,
      bridgeName: BRIDGE,
      subnet: SUBNET,
      icc: false,
      allowOutboundTo: [`${sb().clients[0].v4}/32`],
    });
    const serialized = String(registered.inputs.__provider);
    expect(serialized).not.toContain(server().privateKey.trim());
    expect(serialized).toContain('require("pulumi-docker-firewall/provider")');
  });

  test("check: no failure, and nothing run on the host", async () => {
    const { result, kinds } = await counted("check", () => provider().check(networkUrn(), {}, registered.inputs));
    expect(result.failures).toEqual([]);
    expect(kinds).toEqual([]);
    inputs = result.inputs;
  });

  test("create: a container on the network reaches client 0, not client 1, and two containers on it cannot reach each other", async () => {
    const { result, kinds } = await counted("create", () => provider().create(networkUrn(), inputs));
    expect(kinds).toEqual(["create", "read", "snapshot", "apply"]);
    ({ id, properties: outputs } = result);
    expect(outputs).toMatchObject({ networkId: id, bridgeName: BRIDGE, subnet: SUBNET, drift: [], connection: inputs.connection });
    expect(await networks()).toContain(NETWORK);
    expect((await ourRules()).length).toBeGreaterThan(0);

    const a = await sb().daemon.runHttpd("web-a", "8080:80", { runArgs: ["--network", NETWORK] });
    const b = await sb().daemon.runHttpd("web-b", "8081:80", { runArgs: ["--network", NETWORK] });
    expect(await containerFetches("web-a", clientPage(0))).toBe("client 0\n");
    expect(await containerFetches("web-a", clientPage(1))).toBeUndefined();
    expect(await containerFetches("web-a", httpUrl(b.ipv4, 80))).toBeUndefined();
    expect(await containerFetches("web-b", httpUrl(a.ipv4, 80))).toBeUndefined();
  }, 60_000);

  test("read in sync: one round trip, no drift; diff: no change, nothing on the host", async () => {
    const read = await counted("read", () => provider().read(networkUrn(), id, outputs, inputs));
    expect(read.kinds).toEqual(["read"]);
    expect(read.result.id).toBe(id);
    expect(read.result.properties).toMatchObject({ networkId: id, drift: [] });
    outputs = read.result.properties;

    const diff = await counted("diff", () => provider().diff(networkUrn(), id, outputs, inputs, { oldInputs: inputs }));
    expect(diff.kinds).toEqual([]);
    expect(diff.result).toMatchObject({ changes: false, replaces: [] });
  });

  test("a policy change updates in place: the same network, and its containers now reach client 1, not client 0", async () => {
    const next = await serializeNetwork({ allowOutboundTo: JSON.stringify([`${sb().clients[1].v4}/32`]) });
    const checked = await counted("check (policy)", () => provider().check(networkUrn(), inputs, next.inputs));
    expect(checked.result.failures).toEqual([]);
    expect(checked.kinds).toEqual([]);

    const diff = await counted("diff (policy)", () => provider().diff(networkUrn(), id, outputs, checked.result.inputs, { oldInputs: inputs }));
    expect(diff.kinds).toEqual([]);
    expect(diff.result).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });

    const { result, kinds } = await counted("update", () => provider().update(networkUrn(), id, outputs, checked.result.inputs, { oldInputs: inputs }));
    expect(kinds).toEqual(["read", "snapshot", "apply"]);
    inputs = checked.result.inputs;
    outputs = result.properties;
    expect(outputs).toMatchObject({ networkId: id, drift: [] });
    expect(await containerFetches("web-a", clientPage(1))).toBe("client 1\n");
    expect(await containerFetches("web-a", clientPage(0))).toBeUndefined();
  }, 60_000);

  test("a subnet change is a replacement in diff, decided without the host", async () => {
    const next = await serializeNetwork({ subnet: "10.78.0.0/24" });
    const checked = await counted("check (subnet)", () => provider().check(networkUrn(), inputs, next.inputs));
    expect(checked.result.failures).toEqual([]);
    const diff = await counted("diff (subnet)", () => provider().diff(networkUrn(), id, outputs, checked.result.inputs, { oldInputs: inputs }));
    expect(diff.kinds).toEqual([]);
    expect(diff.result).toMatchObject({ changes: true, replaces: ["subnet"], deleteBeforeReplace: true });
  });

  test("delete: the network and our rules are gone, and read then reports it gone", async () => {
    await sb().daemon.docker(["rm", "-f", "web-a", "web-b"]);
    const { kinds } = await counted("delete", () => provider().delete(networkUrn(), id, outputs, { oldInputs: inputs }));
    expect(kinds).toEqual(["remove", "snapshot", "apply"]);
    expect(await networks()).not.toContain(NETWORK);
    expect(await ourRules()).toEqual([]);
    const read = await counted("read (gone)", () => provider().read(networkUrn(), id, outputs, inputs));
    expect(read.kinds).toEqual(["read"]);
    expect(read.result.id).toBe("");
  }, 60_000);

  test("every call went over one SSH connection", async () => {
    expect((await server().log()).match(/Accepted publickey for root/g)).toHaveLength(1);
  });
});

describe("bad input is a check failure, and nothing reaches the host", () => {
  const networkUrn = () => urn(PROJECT, STACK, TYPE, "backend");

  /** Checks `news` and returns its failures, expecting no command on the server. */
  async function failuresOf(call: string, news: PropertyMap): Promise<readonly { property: string; reason: string }[]> {
    const { result, kinds } = await counted(call, () => provider().check(networkUrn(), {}, news));
    expect(kinds).toEqual([]);
    return result.failures;
  }

  test("a bridge name of 16 characters", async () => {
    const bad = await serializeNetwork({ bridgeName: "br-0123456789abc" });
    expect(await failuresOf("check (bridge name of 16)", bad.inputs)).toEqual([{ property: "bridgeName", reason: expect.stringMatching(/at most 15 characters/) }]);
  });

  test("a subnet with host bits", async () => {
    const bad = await serializeNetwork({ subnet: "10.77.0.1/24" });
    expect(await failuresOf("check (subnet with host bits)", bad.inputs)).toEqual([{ property: "subnet", reason: expect.stringContaining("10.77.0.1/24") }]);
  });

  test("an unknown key names the key it most likely meant", async () => {
    const { allowOutboundTo, ...rest } = (await serializeNetwork()).inputs;
    expect(await failuresOf("check (unknown key)", { ...rest, allowOutboundTO: allowOutboundTo })).toEqual([
      { property: "allowOutboundTO", reason: 'unknown property "allowOutboundTO"; did you mean "allowOutboundTo"?' },
    ]);
  });

  test("nothing was left on the host", async () => {
    expect(await networks()).not.toContain(NETWORK);
    expect(await ourRules()).toEqual([]);
  });
});
