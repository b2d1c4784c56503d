/**
 * PublishedPort end to end, as `pulumi up`, `refresh` and `destroy` drive
 * it, against a real Docker daemon reached over SSH, checked with real
 * packets.
 *
 * - Target: a DockerSandbox namespace T running dockerd 20.10 (IPv4 and
 *   IPv6), a busybox httpd published with `-p 8080:80`, and sshd
 *   (../support/sandbox-sshd.ts) listening on a veth link to the root
 *   namespace. Two client namespaces, each on its own link into T (T-side
 *   interfaces `client0`, `client1`, hence `inInterface: "client+"`).
 * - Driver: the program in ../fixtures/programs/published-port is
 *   serialized exactly as `pulumi up` does, and its serialized provider is
 *   run by the real dynamic provider host in the ROOT namespace, which
 *   reaches T only over SSH.
 * - Round trips are counted on the server: sshd's ForceCommand wrapper
 *   logs every command a client starts.
 *
 * Story: (1) both clients reach the page; (2) after create only client 0
 * (IPv4 and IPv6); (3) the container is removed (read: not published) and
 * run again with a new address: still only client 0, and read shows the new
 * target; (4) update allowFrom to client 1: only client 1; an empty
 * allowFrom: nobody; (5) delete: both again, DOCKER-USER as before (2).
 */
import * as path from "node:path";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { OUR_JUMP } from "../../provider/chains";
import { compiledPath } from "../support/compiled";
import type { HttpdContainer } from "../support/docker-daemon";
import { DockerSandbox, httpUrl } from "../support/docker-sandbox";
import { ProviderError, ProviderHost, urn, type PropertyMap } from "../support/provider-host";
import { serializeProgram, type RegisteredResource } from "../support/pulumi-program";
import { pathWithoutLocalFirewall } from "../support/no-local-firewall";
import { startSandboxSshd, type SandboxSshd } from "../support/sandbox-sshd";
import { generateKey } from "../support/sshd";

type Family = "ipv4" | "ipv6";

const REPO = path.resolve(__dirname, "..", "..");
const PROGRAM = compiledPath("test/fixtures/programs/published-port");
const PROJECT = "pdf-port";
const STACK = "e2e";
const OWNER = `${PROJECT}/${STACK}/port/web`;
const HOST_PORT = 8080;
/** Seconds a fetch that should be dropped is given before it counts as blocked. */
const DENIED_WAIT_S = 4;

let sandbox: DockerSandbox | undefined;
let sshd: SandboxSshd | undefined;
let host: ProviderHost | undefined;
let scratch: string | undefined;
/** The provider hosts run in the root namespace: their PATH holds no usable iptables, so only SSH reaches a firewall. */
let safePath: string | undefined;
const extraHosts: ProviderHost[] = [];
/** Per provider call, the commands started on the server, for the summary. */
const measured: { call: string; execs: number; kinds: string[] }[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "pdf-e2e-port-"));
  safePath = await pathWithoutLocalFirewall(scratch);
  sandbox = await DockerSandbox.start({ clients: 2, ipv6: true });
  sshd = await startSandboxSshd(sandbox.target);
  container = await sandbox.daemon.runHttpd("web", `${HOST_PORT}:80`);
  host = await ProviderHost.start({ cwd: REPO, project: PROJECT, stack: STACK, config: stackConfig(allowClient(0)), env: { PATH: safePath! } });
  await host.configure();
}, 90_000);

afterAll(async () => {
  const steps: (() => Promise<unknown>)[] = [
    ...extraHosts.map((h) => () => h.close()),
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
}, 60_000);

// ---------------------------------------------------------------- helpers

let container: HttpdContainer;

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

/** Client i's own addresses: what allowFrom names to let it in. */
function allowClient(i: number): string[] {
  const client = sb().clients[i];
  return [client.v4, client.v6];
}

/** The whole stack config, full keys, as `pulumi config` would hold it. */
function stackConfig(allowFrom: readonly string[], overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  const s = server();
  const values: Record<string, string> = {
    host: s.address,
    port: String(s.port),
    privateKey: s.privateKey,
    hostKey: s.hostKey,
    hostPort: String(HOST_PORT),
    allowFrom: JSON.stringify(allowFrom),
    inInterface: "client+",
    ...overrides,
  };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, v]));
}

/** Serializes the program as `pulumi up` does and returns the PublishedPort it registers. */
async function serializeWeb(allowFrom: readonly string[], overrides?: Readonly<Record<string, string>>): Promise<RegisteredResource> {
  const resources = await serializeProgram(PROGRAM, { project: PROJECT, stack: STACK, config: stackConfig(allowFrom, overrides) });
  const web = resources.find((r) => r.name === "web");
  if (!web) throw new Error(`the program registered no "web": ${resources.map((r) => r.name).join(", ")}`);
  return web;
}

/** What a command started over SSH was: the engine's read script, its apply script, or something else. */
function kindOf(command: string): string {
  if (command.includes("flock")) return "apply";
  if (command.includes("-save")) return "read";
  return command.slice(0, 40);
}

/** Runs one provider call and returns its result and the commands it started on the server. */
async function counted<T>(call: string, run: () => Promise<T>): Promise<{ result: T; execs: string[] }> {
  const before = (await server().execs()).length;
  const result = await run();
  const execs = (await server().execs()).slice(before).map((line) => line.replace(/^\S+ /, ""));
  measured.push({ call, execs: execs.length, kinds: execs.map(kindOf) });
  return { result, execs };
}

/** Which client reaches the page over which family (both in parallel; a drop shows as a timeout). */
async function reachability(): Promise<Record<string, boolean>> {
  const probes = sb().clients.flatMap((c, i) => [
    { label: `client${i} ipv4`, i, url: httpUrl(c.targetV4, HOST_PORT) },
    { label: `client${i} ipv6`, i, url: httpUrl(c.targetV6, HOST_PORT) },
  ]);
  const bodies = await Promise.all(probes.map((p) => sb().fetch(p.i, p.url, DENIED_WAIT_S)));
  return Object.fromEntries(probes.map((p, k) => [p.label, bodies[k] === "web\n"]));
}

function only(...allowed: number[]): Record<string, boolean> {
  return Object.fromEntries(
    sb().clients.flatMap((_, i) => [
      [`client${i} ipv4`, allowed.includes(i)],
      [`client${i} ipv6`, allowed.includes(i)],
    ]),
  );
}

/** DOCKER-USER's declaration, its rules and FORWARD's jump to it, per family, without counters. */
async function dockerUser(table: "filter" | "mangle" = "filter"): Promise<Record<Family, string[]>> {
  const grab = async (tool: string) =>
    (await sb().target.run([tool, "-t", table]))
      .split("\n")
      .filter((l) => /^(:DOCKER-USER |-A DOCKER-USER |-A FORWARD (.* )?-j DOCKER-USER$)/.test(l))
      .map((l) => l.replace(/ \[\d+:\d+\]$/, ""));
  return { ipv4: await grab("iptables-save"), ipv6: await grab("ip6tables-save") };
}

/** FORWARD's rules in a family and table, in order. */
async function forwardRules(family: Family, table: "filter" | "mangle" = "filter"): Promise<string[]> {
  const save = await sb().target.run([family === "ipv4" ? "iptables-save" : "ip6tables-save", "-t", table]);
  return save.split("\n").filter((l) => l.startsWith("-A FORWARD "));
}

/** The private key's distinctive pieces: the whole text and every base64 line of its body. */
function keyPieces(privateKey: string): string[] {
  return [privateKey, privateKey.trim(), ...privateKey.split("\n").filter((l) => l.length >= 20 && !l.startsWith("-----"))];
}

function expectNoKey(text: string, privateKey = server().privateKey): void {
  for (const piece of keyPieces(privateKey)) expect(text).not.toContain(piece);
}

function stderrOf(h: ProviderHost): string {
  // The tail of the host's stderr the harness keeps (private there; read-only use here).
  return (h as unknown as { stderrTail: string }).stderrTail;
}

function targetsOf(c: HttpdContainer): string[] {
  return [`${c.ipv4}:80`, ...(c.ipv6 ? [`[${c.ipv6}]:80`] : [])].sort();
}

// ---------------------------------------------------------------- the story

describe("PublishedPort over SSH, with a real dockerd and real packets", () => {
  const webUrn = () => urn(PROJECT, STACK, registered.type, "web");
  let registered: RegisteredResource;
  let inputs: PropertyMap;
  let outputs: PropertyMap;
  let id: string;
  let before: Record<Family, string[]>;

  test("serialized as pulumi up does: connection is secret, the private key is not in __provider", async () => {
    registered = await serializeWeb(allowClient(0));

    expect(registered.type).toBe("pulumi-nodejs:dynamic/pulumi-docker-firewall:PublishedPort");
    expect(registered.secretKeys).toContain("connection");
    expect(registered.inputs).toMatchObject({
      connection: { host: server().address, port: 22, user: "root", privateKey: server().privateKey, hostKey: server().hostKey },
      hostPort: HOST_PORT,
      protocol: "tcp",
      allowFrom: allowClient(0),
      inInterface: "client+",
      __owner: OWNER,
    });
    const serialized = String(registered.inputs.__provider);
    expectNoKey(serialized);
    expect(serialized).toContain('require("pulumi-docker-firewall/provider")');
    expect(serialized.length).toBeLessThan(4000);
  });

  test("(1) before the resource, both clients fetch the page over IPv4 and IPv6", async () => {
    before = await dockerUser();
    expect(before.ipv4).toEqual([":DOCKER-USER -", "-A FORWARD -j DOCKER-USER", "-A DOCKER-USER -j RETURN"]);
    expect(before.ipv6).toEqual([]); // Docker 20.10 keeps no DOCKER-USER for IPv6
    expect(await reachability()).toEqual(only(0, 1));
  });

  test("the issue's example checks and renders: an ACCEPT per source in its family, then a DROP of new connections in both", async () => {
    const example = await serializeWeb(["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"], { inInterface: "eth0" });
    const { result, execs } = await counted("check (issue example)", () => provider().check(webUrn(), {}, example.inputs));
    expect(result.failures).toEqual([]);
    expect(execs).toEqual([]);
    const tag = (n: number) => `-m comment --comment "pdf:${OWNER}:500:${n}"`;
    const match = "-i eth0 -p tcp -m conntrack";
    const port = "--ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL";
    // INPUT guards what docker-proxy serves; the direct-access guards follow the host, so check cannot predict them.
    const input = "-i eth0 -p tcp -m tcp --dport 8080";
    expect(result.inputs.ruleText).toEqual({
      ipv4: [
        `-A DOCKER-USER -s 203.0.113.7/32 ${match} ${port} ${tag(0)} -j ACCEPT`,
        `-A DOCKER-USER -s 198.51.100.0/24 ${match} ${port} ${tag(1)} -j ACCEPT`,
        `-A DOCKER-USER ${match} ${port} ${tag(3)} -j DROP`,
        `-A INPUT -s 203.0.113.7/32 ${input} ${tag(5)} -j ACCEPT`,
        `-A INPUT -s 198.51.100.0/24 ${input} ${tag(6)} -j ACCEPT`,
        `-A INPUT ${input} -m conntrack --ctdir ORIGINAL ${tag(8)} -j DROP`,
      ].join("\n"),
      ipv6: [
        `-A DOCKER-USER -s 2001:db8::/32 ${match} ${port} ${tag(2)} -j ACCEPT`,
        `-A DOCKER-USER ${match} ${port} ${tag(4)} -j DROP`,
        `-A INPUT -s 2001:db8::/32 ${input} ${tag(7)} -j ACCEPT`,
        `-A INPUT ${input} -m conntrack --ctdir ORIGINAL ${tag(9)} -j DROP`,
      ].join("\n"),
    });
  });

  test("check validates without touching the host", async () => {
    const { result, execs } = await counted("check", () => provider().check(webUrn(), {}, registered.inputs));
    expect(result.failures).toEqual([]);
    expect(execs).toEqual([]);
    inputs = result.inputs;
  });

  test("(2) create: at most 2 round trips, outputs read from Docker's DNAT rules, only client 0 gets in", async () => {
    const { result, execs } = await counted("create", () => provider().create(webUrn(), inputs));
    expect(execs.length).toBeLessThanOrEqual(2);
    ({ id, properties: outputs } = result);

    expect(id).toBe(OWNER);
    expect(outputs).toMatchObject({
      published: true,
      bindAddresses: ["0.0.0.0", "::"],
      targets: targetsOf(container),
      drift: [],
      connection: inputs.connection, // same key as the secret input: the engine stores it as a secret
    });
    const ruleText = outputs.ruleText as Record<Family, string>;
    const [v4, v6] = allowClient(0);
    // Every path: forward (DNAT), direct access to the container on docker0 (20.10 leaves it open), proxy (INPUT).
    for (const [family, source] of [["ipv4", `${v4}/32`], ["ipv6", `${v6}/128`]] as const) {
      expect(ruleText[family].split("\n")).toEqual([
        expect.stringMatching(new RegExp(`^-A DOCKER-USER -s ${source} -i client\\+ -p tcp .*--ctorigdstport 8080 .*-j ACCEPT$`)),
        expect.stringMatching(/^-A DOCKER-USER -i client\+ -p tcp .*--ctstate DNAT .*--ctorigdstport 8080 .*-j DROP$/),
        expect.stringMatching(/^-A DOCKER-USER -i client\+ -o docker0 -p tcp -m tcp --dport 80 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL .*-j DROP$/),
        expect.stringMatching(new RegExp(`^-A INPUT -s ${source} -i client\\+ -p tcp -m tcp --dport 8080 .*-j ACCEPT$`)),
        expect.stringMatching(/^-A INPUT -i client\+ -p tcp -m tcp --dport 8080 -m conntrack --ctdir ORIGINAL .*-j DROP$/),
      ]);
    }
    // Keyed on the host port: no container address anywhere in the rules.
    for (const text of Object.values(ruleText)) {
      expect(text).not.toContain(container.ipv4);
      if (container.ipv6) expect(text).not.toContain(container.ipv6);
    }
    // Docker 20.10 makes no IPv6 DOCKER-USER and moves its FORWARD rules above any other jump at every start:
    // ours lives in the mangle table, with FORWARD's jump first there.
    expect((await forwardRules("ipv6", "mangle"))[0]).toBe(OUR_JUMP);
    expect((await dockerUser("mangle")).ipv6).toEqual([":DOCKER-USER -", OUR_JUMP, ...ruleText.ipv6.split("\n").filter((l) => l.startsWith("-A DOCKER-USER "))]);

    expect(await reachability()).toEqual(only(0));
  });

  test("read and diff in sync: at most 1 round trip each, no drift, no changes", async () => {
    const read = await counted("read", () => provider().read(webUrn(), id, outputs, inputs));
    expect(read.execs.length).toBeLessThanOrEqual(1);
    expect(read.result.id).toBe(id);
    expect(read.result.properties).toEqual(outputs);

    const diff = await counted("diff", () => provider().diff(webUrn(), id, outputs, inputs, { oldInputs: inputs }));
    expect(diff.execs.length).toBeLessThanOrEqual(1);
    expect(diff.result).toMatchObject({ changes: false, replaces: [] });
  });

  test("(3) docker rm -f: read shows the port unpublished, the allowlist intact", async () => {
    await sb().daemon.docker(["rm", "-f", "web"]);

    const { result, execs } = await counted("read (container removed)", () => provider().read(webUrn(), id, outputs, inputs));
    expect(execs.length).toBeLessThanOrEqual(1);
    expect(result.id).toBe(id);
    expect(result.properties).toMatchObject({ published: false, bindAddresses: [], targets: [], drift: [], ruleText: outputs.ruleText });
  });

  test("(3) a new docker run with a new container address: still only client 0, and read shows the new target", async () => {
    // Take the freed address first, so that the new httpd gets another one.
    await sb().daemon.docker(["run", "-d", "--name", "filler", "bb", "/bin/sleep", "3600"]);
    const old = container;
    container = await sb().daemon.runHttpd("web", `${HOST_PORT}:80`);
    expect(container.ipv4).not.toBe(old.ipv4);

    expect(await reachability()).toEqual(only(0));

    const { result } = await counted("read (container recreated)", () => provider().read(webUrn(), id, outputs, inputs));
    expect(result.properties).toMatchObject({ published: true, bindAddresses: ["0.0.0.0", "::"], targets: targetsOf(container), drift: [] });
    expect(result.properties.targets).not.toEqual(outputs.targets);
    outputs = result.properties;
  });

  test("(4) update allowFrom to client 1: at most 2 round trips, then only client 1 gets in", async () => {
    const next = await serializeWeb(allowClient(1));
    const checked = await counted("check (update)", () => provider().check(webUrn(), inputs, next.inputs));
    expect(checked.result.failures).toEqual([]);
    expect(checked.execs).toEqual([]);

    const diff = await counted("diff (update)", () => provider().diff(webUrn(), id, outputs, checked.result.inputs, { oldInputs: inputs }));
    expect(diff.execs.length).toBeLessThanOrEqual(1);
    expect(diff.result).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });

    const { result, execs } = await counted("update", () => provider().update(webUrn(), id, outputs, checked.result.inputs, { oldInputs: inputs }));
    expect(execs.length).toBeLessThanOrEqual(2);
    inputs = checked.result.inputs;
    outputs = result.properties;
    const ruleText = outputs.ruleText as Record<Family, string>;
    expect(ruleText.ipv4).toContain(`-s ${allowClient(1)[0]}/32 `);
    expect(ruleText.ipv6).toContain(`-s ${allowClient(1)[1]}/128 `);
    expect(JSON.stringify(ruleText)).not.toContain(allowClient(0)[0]);
    expect(outputs).toMatchObject({ published: true, targets: targetsOf(container), drift: [] });

    expect(await reachability()).toEqual(only(1));
  });

  test("(4b) an empty allowFrom lets nobody from outside in", async () => {
    const next = await serializeWeb([]);
    const checked = await provider().check(webUrn(), inputs, next.inputs);
    expect(checked.failures).toEqual([]);
    const { result, execs } = await counted("update (empty allowFrom)", () => provider().update(webUrn(), id, outputs, checked.inputs, { oldInputs: inputs }));
    expect(execs.length).toBeLessThanOrEqual(2);
    // Only DROPs are left, one per path: forward, direct access, proxy.
    for (const family of ["ipv4", "ipv6"] as const) {
      expect((result.properties.ruleText as Record<Family, string>)[family].split("\n")).toEqual([
        expect.stringMatching(/^-A DOCKER-USER -i client\+ .*--ctstate DNAT .*-j DROP$/),
        expect.stringMatching(/^-A DOCKER-USER -i client\+ -o docker0 .*! --ctstate DNAT .*-j DROP$/),
        expect.stringMatching(/^-A INPUT -i client\+ .*-j DROP$/),
      ]);
    }
    inputs = checked.inputs;
    outputs = result.properties;

    expect(await reachability()).toEqual(only());
  });

  test("(5) delete: both clients again; DOCKER-USER's rules are what they were before create; read then says gone", async () => {
    const { execs } = await counted("delete", () => provider().delete(webUrn(), id, outputs, { oldInputs: inputs }));
    expect(execs.length).toBeLessThanOrEqual(2);

    expect(await reachability()).toEqual(only(0, 1));
    const after = await dockerUser();
    expect(after.ipv4).toEqual(before.ipv4);
    expect(after.ipv6).toEqual(before.ipv6);

    const read = await counted("read (after delete)", () => provider().read(webUrn(), id, outputs, inputs));
    expect(read.execs.length).toBeLessThanOrEqual(1);
    expect(read.result.id).toBe("");
  });

  test("every call of the story went over one SSH connection", async () => {
    expect((await server().log()).match(/Accepted publickey for root/g)).toHaveLength(1);
  });

  // Docker 20.10 has no IPv6 DOCKER-USER: the chain, the jump and the mangle table the engine made go with the allowlist.
  test("after delete, IPv6 is exactly as before create (the mangle table the engine made is gone)", async () => {
    expect((await dockerUser()).ipv6).toEqual(before.ipv6);
    expect(await sb().target.run(["ip6tables-save"])).not.toContain("*mangle");
  });
});

describe("credentials of a call are honoured even when the process already holds a connection to the host", () => {
  // A connection is shared only by resources with the same settings, so a
  // resource's own hostKey and privateKey are always checked.
  let registered: RegisteredResource;
  const webUrn = () => urn(PROJECT, STACK, registered.type, "web");

  beforeAll(async () => {
    registered = await serializeWeb(allowClient(0));
  });

  async function readWith(change: PropertyMap): Promise<unknown> {
    const props = { ...registered.inputs, connection: { ...(registered.inputs.connection as PropertyMap), ...change } };
    return provider().read(webUrn(), OWNER, props, props);
  }

  test("a wrong hostKey is refused", async () => {
    const other = await generateKey(scratch ?? tmpdir(), "other-host-shared");
    await expect(readWith({ hostKey: other.publicKey })).rejects.toThrow(/host key mismatch/);
  });

  test("a private key the server does not accept is refused", async () => {
    const wrong = await generateKey(scratch ?? tmpdir(), "wrong-client-shared");
    await expect(readWith({ privateKey: wrong.privateKey })).rejects.toThrow(/authentication failed/);
  });
});

// ---------------------------------------------------------------- secrets

describe("the private key stays out of errors and logs", () => {
  let registered: RegisteredResource;
  const webUrn = () => urn(PROJECT, STACK, registered.type, "web");

  beforeAll(async () => {
    registered = await serializeWeb(allowClient(0));
  });

  test("check failures name the property and never echo a connection value", async () => {
    const connection = registered.inputs.connection as PropertyMap;
    const notAKey = "garbage-that-is-secret-0123456789";
    const { failures } = await provider().check(webUrn(), {}, { ...registered.inputs, connection: { ...connection, port: 0, privateKey: notAKey } });

    expect(failures.map((f) => f.property).sort()).toEqual(["connection.port", "connection.privateKey"]);
    expect(JSON.stringify(failures)).not.toContain(notAKey);
    expectNoKey(JSON.stringify(failures));
  });

  /** Reads the resource through a fresh provider host with one connection setting changed; resolves the error and that host. */
  async function readWith(change: PropertyMap): Promise<{ error: ProviderError; fresh: ProviderHost }> {
    const fresh = await ProviderHost.start({ cwd: REPO, project: PROJECT, stack: STACK, config: stackConfig(allowClient(0)), env: { PATH: safePath! } });
    extraHosts.push(fresh);
    await fresh.configure();
    const props = { ...registered.inputs, connection: { ...(registered.inputs.connection as PropertyMap), ...change } };
    const error = await fresh.read(webUrn(), OWNER, props, props).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    return { error: error as ProviderError, fresh };
  }

  test("a read with a wrong hostKey fails with a host key mismatch that does not show the key", async () => {
    const other = await generateKey(scratch ?? tmpdir(), "other-host");
    const { error, fresh } = await readWith({ hostKey: other.publicKey });
    expect(error.details).toMatch(/host key mismatch/);
    expectNoKey(error.details);
    expectNoKey(error.message);
    expectNoKey(stderrOf(fresh));
  });

  test("a read with a private key the server does not accept fails with an auth error that shows neither key", async () => {
    const wrong = await generateKey(scratch ?? tmpdir(), "wrong-client");
    const { error, fresh } = await readWith({ privateKey: wrong.privateKey });
    expect(error.details).toMatch(/authentication failed/);
    expectNoKey(error.details, wrong.privateKey);
    expectNoKey(error.details);
    expectNoKey(stderrOf(fresh), wrong.privateKey);
  });

  test("the provider host's output and sshd's log never show the private key", async () => {
    expectNoKey(stderrOf(provider()));
    expectNoKey(await server().log());
  });
});
