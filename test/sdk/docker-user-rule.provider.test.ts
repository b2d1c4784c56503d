/**
 * DockerUserRule through the engine protocol, as `pulumi up`, `refresh` and
 * `destroy` drive it: programs are serialized exactly as `pulumi up` does
 * (../support/pulumi-program.ts), and their serialized providers are run by
 * the real dynamic provider host (../support/provider-host.ts) started inside
 * a network namespace preloaded with Docker 20.10's layout, so the engine's
 * local transport manages that namespace's firewall.
 *
 * Every iptables-save/-restore the provider host runs goes through a
 * recording wrapper (first on its PATH), so a test can tell what reached the
 * host: nothing during `check`, one restore transaction per `update`.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { OUR_JUMP } from "../../provider/chains";
import { compiledPath } from "../support/compiled";
import { Netns } from "../support/netns";
import { ProviderHost, UNKNOWN, urn, type PropertyMap } from "../support/provider-host";
import { serializeProgram, type RegisteredResource } from "../support/pulumi-program";

type Family = "ipv4" | "ipv6";

const REPO = path.resolve(__dirname, "..", "..");
const QUICKSTART = { program: compiledPath("examples/quickstart"), project: "docker-firewall-quickstart", stack: "dev" };
const RULES = { program: compiledPath("test/fixtures/programs/rules"), project: "pdf-rules", stack: "test" };
const DOCKER_LAYOUT = path.join(REPO, "test/fixtures/docker-20.10/02-published-8080.v4.txt");
const RULE_TYPE = "pulumi-nodejs:dynamic/pulumi-docker-firewall:DockerUserRule";
const RETURN = "-A DOCKER-USER -j RETURN";
const FOREIGN = "-A DOCKER-USER -s 198.51.100.7/32 -j DROP";
const FAKE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAnot-a-real-key-but-secret-text\n-----END OPENSSH PRIVATE KEY-----\n";
const NO_CHANGE = { changes: false, replaces: [], deleteBeforeReplace: false, diffs: [] };

// ---------------------------------------------------------------- helpers

/** One iptables-save/-restore run by the provider host: tool, arguments, and for a restore its input. */
interface HostCall {
  readonly tool: string;
  readonly args: string;
  readonly input: string;
}

/** A provider host inside a namespace holding Docker's layout, with its recorded iptables calls. */
interface Target {
  readonly ns: Netns;
  readonly host: ProviderHost;
  readonly callLog: string;
}

let scratch: string;
const cleanups: (() => Promise<unknown>)[] = [];

/** Wrappers that log each call of the iptables save/restore tools (and a restore's input, from stdin) to `$PDF_CALL_LOG`, then run the real tool. */
async function writeRecorders(dir: string): Promise<void> {
  for (const tool of ["iptables-save", "ip6tables-save", "iptables-restore", "ip6tables-restore"]) {
    const real = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
    const script = `#!/bin/sh
{ printf '@@ %s' "\${0##*/}"; printf ' %s' "$@"; printf '\\n'; } >> "\${PDF_CALL_LOG:-/dev/null}"
case "\${0##*/}" in
  *-restore) input=$(cat); printf '%s\\n' "$input" >> "\${PDF_CALL_LOG:-/dev/null}"; printf '%s\\n' "$input" | exec ${real} "$@" ;;
esac
exec ${real} "$@"
`;
    await writeFile(path.join(dir, tool), script, { mode: 0o755 });
  }
}

/** A namespace restored from Docker's iptables-save, and a configured provider host running inside it. */
async function startTarget(label: string, project: string, stack: string): Promise<Target> {
  const ns = await Netns.create(label);
  cleanups.push(() => ns.delete());
  await ns.run(["iptables-restore"], { stdin: await readFile(DOCKER_LAYOUT, "utf8") });
  const callLog = path.join(scratch, `${ns.name}.log`);
  await writeFile(callLog, "");
  const host = await ProviderHost.start({
    cwd: REPO,
    project,
    stack,
    prefix: ["ip", "netns", "exec", ns.name],
    env: { PATH: `${path.join(scratch, "bin")}:${process.env.PATH}`, PDF_CALL_LOG: callLog },
  });
  cleanups.push(() => host.close());
  return { ns, host, callLog };
}

/** The iptables calls the provider host made since the last `clearCalls`. */
async function hostCalls(target: Target): Promise<HostCall[]> {
  const calls: { tool: string; args: string; input: string[] }[] = [];
  for (const line of (await readFile(target.callLog, "utf8")).split("\n")) {
    const head = /^@@ (\S+) ?(.*)$/.exec(line);
    if (head) calls.push({ tool: head[1], args: head[2], input: [] });
    else if (line !== "") calls[calls.length - 1]?.input.push(line);
  }
  return calls.map((c) => ({ tool: c.tool, args: c.args, input: c.input.join("\n") }));
}

async function clearCalls(target: Target): Promise<void> {
  await writeFile(target.callLog, "");
}

/** The restores that changed the firewall (not `--test` runs). */
function transactions(calls: readonly HostCall[]): HostCall[] {
  return calls.filter((c) => c.tool.endsWith("-restore") && !c.args.includes("--test"));
}

/** iptables-save (or ip6tables-save) of the namespace, without comment lines or chain counters (the host's gRPC traffic moves them). */
async function saveOf(ns: Netns, family: Family = "ipv4"): Promise<string[]> {
  const text = await ns.run([family === "ipv4" ? "iptables-save" : "ip6tables-save"]);
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, "$1"));
}

/** The DOCKER-USER rules of the namespace, in order. */
async function chainOf(ns: Netns, family: Family = "ipv4"): Promise<string[]> {
  return (await saveOf(ns, family)).filter((line) => line.startsWith("-A DOCKER-USER "));
}

/** The line of the chain tagged for `owner`. */
function lineOf(chain: readonly string[], owner: string): string {
  const found = chain.filter((line) => line.includes(`"pdf:${owner}:`));
  if (found.length !== 1) throw new Error(`expected one rule of ${owner}, found ${found.length} in:\n${chain.join("\n")}`);
  return found[0];
}

/** argv of an iptables-save rule line, e.g. for `iptables -R` (handles the quoted comment). */
function argvOf(saveLine: string): string[] {
  return [...saveLine.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

function named(resources: readonly RegisteredResource[], name: string): RegisteredResource {
  const found = resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource ${name} among ${resources.map((r) => r.name).join(", ")}`);
  return found;
}

function urnOf(app: { project: string; stack: string }, resource: RegisteredResource): string {
  return urn(app.project, app.stack, resource.type, resource.name);
}

function quickstart(options: { config?: Record<string, string>; preview?: boolean } = {}): Promise<RegisteredResource[]> {
  return serializeProgram(QUICKSTART.program, { project: QUICKSTART.project, stack: QUICKSTART.stack, ...options });
}

function rulesProgram(variant: "mixed" | "ordering" | "invalid", preview = false): Promise<RegisteredResource[]> {
  return serializeProgram(RULES.program, { project: RULES.project, stack: RULES.stack, config: { "pdf-rules:variant": variant }, preview });
}

const bySorted = (failures: readonly { property: string }[]) => [...failures].sort((a, b) => a.property.localeCompare(b.property));

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "pdf-provider-test-"));
  await mkdir(path.join(scratch, "bin"));
  await writeRecorders(path.join(scratch, "bin"));
});

afterAll(async () => {
  // Hosts first (they run inside the namespaces), then namespaces; every step even if another failed.
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
  await rm(scratch, { recursive: true, force: true });
});

const describeAsRoot = process.getuid?.() === 0 ? describe : describe.skip;

// ---------------------------------------------------------------- serialization

describe("what pulumi up registers", () => {
  let office: RegisteredResource;
  let provider: string;

  beforeAll(async () => {
    const resources = await quickstart();
    expect(resources.map((r) => [r.type, r.name])).toEqual([
      ["pulumi:pulumi:Stack", "docker-firewall-quickstart-dev"],
      [RULE_TYPE, "office-only-8080"],
    ]);
    office = named(resources, "office-only-8080");
    provider = String(office.inputs.__provider);
  });

  test("the quickstart's inputs: declared values, the owner key and the provider text; unset outputs absent", () => {
    expect(office.inputs).toEqual({
      __owner: "docker-firewall-quickstart/dev/rule/office-only-8080",
      __provider: expect.any(String),
      action: "DROP",
      comment: "only the office may reach 8080",
      inInterface: "eth0",
      originalDestinationPort: 8080,
      priority: 100,
      protocol: "tcp",
      source: "!192.168.0.0/24",
    });
    expect(office.secretKeys).toEqual([]);
  });

  test("__provider is a small set of shims that require the installed engine, with no path of this machine", () => {
    console.log(`__provider: ${Buffer.byteLength(provider)} bytes`);
    expect(Buffer.byteLength(provider)).toBeLessThan(4096);
    expect(provider).toContain('require("pulumi-docker-firewall/provider")');
    expect(provider).not.toContain(REPO);
    expect(provider).not.toContain(tmpdir());
    // No absolute path at all: a "/" that does not follow a name character.
    expect(provider).not.toMatch(/(^|[^\w.-])\/[\w.-]/);
  });

  test("every DockerUserRule of every program carries the same provider text", async () => {
    for (const resource of (await rulesProgram("mixed")).filter((r) => r.type === RULE_TYPE)) {
      expect(resource.inputs.__provider).toBe(provider);
    }
  });

  test("a connection with a private key is secret, and the key is not in __provider", async () => {
    const config = {
      "docker-firewall-quickstart:sshHost": "192.0.2.10",
      "docker-firewall-quickstart:sshUser": "deploy",
      "docker-firewall-quickstart:sshPrivateKey": FAKE_KEY,
    };
    const remote = named(await quickstart({ config }), "office-only-8080");

    expect(remote.secretKeys).toContain("connection");
    expect(remote.inputs.connection).toEqual({ host: "192.0.2.10", user: "deploy", privateKey: FAKE_KEY });
    expect(remote.inputs.__provider).toBe(provider);
    expect(String(remote.inputs.__provider)).not.toContain("not-a-real-key");
  });

  test("in a preview, an input that depends on another resource's output is unknown", async () => {
    expect(named(await rulesProgram("mixed", true), "follower").inputs.comment).toBe(UNKNOWN);
  });
});

// ---------------------------------------------------------------- quickstart lifecycle

describeAsRoot("quickstart: up, refresh after hand edits, destroy, in a namespace with Docker's layout", () => {
  const owner = "docker-firewall-quickstart/dev/rule/office-only-8080";
  const declared = `-A DOCKER-USER ! -s 192.168.0.0/24 -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -m comment --comment "pdf:${owner}:100:0 only the office may reach 8080" -j DROP`;
  let target: Target;
  let resourceUrn: string;
  let news: PropertyMap; // what the program registers
  let inputs: PropertyMap; // checked inputs (the engine's from then on)
  let id: string;
  let outputs: PropertyMap;
  let before: { ipv4: string[]; ipv6: string[] };

  beforeAll(async () => {
    const [resources, started] = await Promise.all([quickstart(), startTarget("qs", QUICKSTART.project, QUICKSTART.stack)]);
    target = started;
    const office = named(resources, "office-only-8080");
    resourceUrn = urnOf(QUICKSTART, office);
    news = office.inputs;
    before = { ipv4: await saveOf(target.ns, "ipv4"), ipv6: await saveOf(target.ns, "ipv6") };
  });

  test("the namespace holds Docker's layout", () => {
    expect(before.ipv4).toContain("-A FORWARD -j DOCKER-USER");
    expect(before.ipv4.filter((l) => l.startsWith("-A DOCKER-USER "))).toEqual([RETURN]);
  });

  test("configure: the host takes the stack config and unwrapped secrets", async () => {
    expect(await target.host.configure()).toEqual({ acceptSecrets: false, supportsPreview: false });
  });

  test("check accepts the program's inputs and adds the rule text it will write, without touching the host", async () => {
    await clearCalls(target);

    const checked = await target.host.check(resourceUrn, {}, news);

    expect(checked).toEqual({ inputs: { ...news, ruleText: { ipv4: declared } }, failures: [] });
    inputs = checked.inputs;
    expect(await hostCalls(target)).toEqual([]);
  });

  test("check reports one failure per bad property, with its path, and nothing reaches the host", async () => {
    await clearCalls(target);
    const bad = named(await rulesProgram("invalid"), "bad");
    const badUrn = urnOf(RULES, bad);

    const failures = (await target.host.check(badUrn, {}, bad.inputs)).failures;

    expect(bySorted(failures).map((f) => f.property)).toEqual(
      ["comment", "connection.bogus", "destinationPort", "inInterface", "originalDestinationPort", "originalSource", "outInterface", "source", "sourceRange"],
    );
    const reason = (property: string) => failures.find((f) => f.property === property)?.reason;
    expect(reason("connection.bogus")).toMatch(/unknown property "bogus"/);
    expect(reason("source")).toMatch(/10\.0\.0\.0\/33/);
    expect(reason("inInterface")).toMatch(/1–15 characters/);

    const cases: [PropertyMap, string[]][] = [
      [{ protocol: "tcp", destinationPort: [0, 70000] }, ["destinationPort[0]", "destinationPort[1]"]],
      [{ originalDestinationPort: 0 }, ["originalDestinationPort"]],
      [{ comment: 'say "hi"' }, ["comment"]],
      [{ comment: "a; reboot" }, ["comment"]],
      [{ comment: "`reboot`" }, ["comment"]],
      [{ inInterface: "eth0;reboot" }, ["inInterface"]],
      [{ source: "$(reboot)" }, ["source"]],
      [{ destinationRange: "10.0.0.1-10.0.0.2`id`" }, ["destinationRange"]],
      [{ action: "DROP; reboot" }, ["action"]],
      [{ iptablesBackend: "nft$(reboot)" }, ["iptablesBackend"]],
      [{ connection: { host: "h; reboot" } }, ["connection.host"]],
      [{ connection: { host: "192.0.2.1", user: "$(id)", port: 70000 } }, ["connection.port", "connection.user"]],
      [{ connection: { host: "192.0.2.1", proxy: { host: "192.0.2.2" } } }, ["connection.proxy"]],
      [{ source: "!not-an-address", inInterface: "abcdefghijklmnop", comment: "x\ny" }, ["comment", "inInterface", "source"]],
    ];
    for (const [change, properties] of cases) {
      const result = await target.host.check(resourceUrn, {}, { ...news, ...change });
      expect({ change, failures: bySorted(result.failures).map((f) => f.property) }).toEqual({ change, failures: properties });
    }

    expect(await hostCalls(target)).toEqual([]);
    expect(await saveOf(target.ns, "ipv4")).toEqual(before.ipv4);
    expect(await saveOf(target.ns, "ipv6")).toEqual(before.ipv6);
  });

  test("check refuses a misspelled key, naming the key meant, instead of applying an ACCEPT of everything; nothing reaches the host", async () => {
    await clearCalls(target);

    const checked = await target.host.check(resourceUrn, {}, { ...news, action: "ACCEPT", source: undefined, sourc: "10.0.0.0/8" });

    expect(checked.failures).toEqual([{ property: "sourc", reason: 'unknown property "sourc"; did you mean "source"?' }]);
    expect(checked.inputs.ruleText).toBeUndefined();
    expect(await hostCalls(target)).toEqual([]);
  });

  // The engine marks secret every output key named like a secret input: create/update/read keep the
  // connection under `connection` (see the lifecycle below, where outputs = checked inputs + ruleText + drift).
  test("check of a remote connection keeps it, unwrapped, under `connection`, and runs nothing on the host", async () => {
    const config = {
      "docker-firewall-quickstart:sshHost": "192.0.2.10",
      "docker-firewall-quickstart:sshPrivateKey": FAKE_KEY,
    };
    const remote = named(await quickstart({ config }), "office-only-8080");
    await clearCalls(target);

    const checked = await target.host.check(urnOf(QUICKSTART, remote), {}, remote.inputs);

    expect(checked.failures).toEqual([]);
    expect(checked.inputs.connection).toEqual({ host: "192.0.2.10", user: "root", privateKey: FAKE_KEY });
    expect(await hostCalls(target)).toEqual([]);
  });

  test("check during a preview lets unknown values through and still reports the known bad ones", async () => {
    await clearCalls(target);
    const follower = named(await rulesProgram("mixed", true), "follower");

    const checked = await target.host.check(urnOf(RULES, follower), {}, follower.inputs);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.comment).toBe(UNKNOWN);
    expect(checked.inputs.ruleText).toBeUndefined(); // not known until the comment is

    for (const change of [
      { source: UNKNOWN },
      { connection: UNKNOWN },
      { connection: { host: UNKNOWN, privateKey: UNKNOWN } },
      { priority: UNKNOWN, action: UNKNOWN },
      { protocol: UNKNOWN, destinationPort: 80 },
      { protocol: "tcp", destinationPort: [80, UNKNOWN] },
    ]) {
      expect({ change, failures: (await target.host.check(resourceUrn, {}, { ...news, ...change })).failures }).toEqual({ change, failures: [] });
    }
    const mixed = await target.host.check(resourceUrn, {}, { ...news, source: UNKNOWN, inInterface: "abcdefghijklmnop" });
    expect(mixed.failures.map((f) => f.property)).toEqual(["inInterface"]);

    expect(await hostCalls(target)).toEqual([]);
  });

  test("create writes the rule at the top of DOCKER-USER, above Docker's RETURN, and returns it as iptables-save prints it", async () => {
    const created = await target.host.create(resourceUrn, inputs);

    expect(created).toEqual({ id: owner, properties: { ...inputs, ruleText: { ipv4: declared }, drift: [], warnings: [] } });
    ({ id, properties: outputs } = created);
    expect(await chainOf(target.ns)).toEqual([declared, RETURN]);
    const others = (save: string[]) => save.filter((l) => !l.startsWith("-A DOCKER-USER "));
    expect(others(await saveOf(target.ns, "ipv4"))).toEqual(others(before.ipv4));
    expect(await saveOf(target.ns, "ipv6")).toEqual(before.ipv6); // an IPv4 rule leaves ip6tables alone
  });

  test("diff: no change when the program is unchanged", async () => {
    expect(await target.host.diff(resourceUrn, id, outputs, inputs, { oldInputs: inputs })).toEqual(NO_CHANGE);
  });

  test("diff: a match or priority change is an update; only a change of target (connection, backend) replaces", async () => {
    const diffAfter = async (change: PropertyMap) => {
      const checked = await target.host.check(resourceUrn, inputs, { ...news, ...change });
      expect(checked.failures).toEqual([]);
      return target.host.diff(resourceUrn, id, outputs, checked.inputs, { oldInputs: inputs });
    };
    const update = { ...NO_CHANGE, changes: true };
    const replace = (key: string) => ({ ...NO_CHANGE, changes: true, replaces: [key], deleteBeforeReplace: true });

    expect(await diffAfter({ comment: "office only" })).toEqual(update);
    expect(await diffAfter({ priority: 50 })).toEqual(update);
    expect(await diffAfter({ source: "!192.168.1.0/24" })).toEqual(update);
    expect(await diffAfter({ connection: { host: "192.0.2.10", privateKey: FAKE_KEY } })).toEqual(replace("connection"));
    expect(await diffAfter({ iptablesBackend: "legacy" })).toEqual(replace("iptablesBackend"));
    // During a preview an unknown input is a possible change.
    expect(await diffAfter({ source: UNKNOWN })).toEqual(update);
  });

  // `iptablesBackend: "auto"` is the documented default, so writing it out names the same firewall: a
  // delete-before-replace here would leave the host without the rule for a moment.
  test("diff: writing out the default iptablesBackend is an update, not a replacement", async () => {
    const checked = await target.host.check(resourceUrn, inputs, { ...news, iptablesBackend: "auto" });
    expect(await target.host.diff(resourceUrn, id, outputs, checked.inputs, { oldInputs: inputs })).toEqual({ ...NO_CHANGE, changes: true });
  });

  test("update changes the rule in place, in one restore transaction; the chain holds it once, at the same place", async () => {
    const changed = `-A DOCKER-USER ! -s 192.168.0.0/24 -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -m comment --comment "pdf:${owner}:100:0 office only" -j DROP`;
    const next = await target.host.check(resourceUrn, inputs, { ...news, comment: "office only" });
    await clearCalls(target);

    const updated = await target.host.update(resourceUrn, id, outputs, next.inputs, { oldInputs: inputs });

    expect(updated.properties).toEqual({ ...next.inputs, ruleText: { ipv4: changed }, drift: [], warnings: [] });
    expect(await chainOf(target.ns)).toEqual([changed, RETURN]);
    const applied = transactions(await hostCalls(target));
    expect(applied.map((c) => `${c.tool} ${c.args}`)).toEqual(["iptables-restore -w 30 --noflush"]);
    expect(applied[0].input).toBe(`*filter\n-D DOCKER-USER ${declared.slice("-A DOCKER-USER ".length)}\n-I DOCKER-USER 1 ${changed.slice("-A DOCKER-USER ".length)}\nCOMMIT`);

    // Back to the program's declaration for the rest of the lifecycle.
    outputs = (await target.host.update(resourceUrn, id, updated.properties, inputs)).properties;
    expect(await chainOf(target.ns)).toEqual([declared, RETURN]);
  });

  test("read (refresh) in sync: no drift, ruleText is what iptables-save prints", async () => {
    const read = await target.host.read(resourceUrn, id, outputs, inputs);

    expect(read).toEqual({ id, properties: outputs });
    expect(read.properties.drift).toEqual([]);
    expect(read.properties.ruleText).toEqual({ ipv4: lineOf(await chainOf(target.ns), owner) });
  });

  test("hand edit: rule deleted with iptables -D → read answers id '' (gone) → up creates it again", async () => {
    await target.ns.run(["iptables", ...argvOf(declared).map((a) => (a === "-A" ? "-D" : a))]);
    expect(await chainOf(target.ns)).toEqual([RETURN]);

    const read = await target.host.read(resourceUrn, id, outputs, inputs);
    expect(read.id).toBe("");

    // The engine drops a resource read as gone from the state; the next `up` creates it.
    const created = await target.host.create(resourceUrn, inputs);
    expect(created).toEqual({ id, properties: outputs });
    expect(await chainOf(target.ns)).toEqual([declared, RETURN]);
  });

  test("hand edit: rule altered with iptables -R, comment kept → read shows it in ruleText and drift → diff changes → update repairs", async () => {
    const altered = declared.replace("! -s 192.168.0.0/24", "! -s 192.168.0.0/16");
    await target.ns.run(["iptables", "-R", "DOCKER-USER", "1", ...argvOf(altered).slice(2)]);
    expect(await chainOf(target.ns)).toEqual([altered, RETURN]);

    const read = await target.host.read(resourceUrn, id, outputs, inputs);
    expect(read.id).toBe(id);
    expect(read.properties.ruleText).toEqual({ ipv4: altered });
    expect(read.properties.drift).toEqual([`ipv4: altered (source is ! 192.168.0.0/16, declared ! 192.168.0.0/24): ${altered}`]);

    expect(await target.host.diff(resourceUrn, id, read.properties, inputs, { oldInputs: inputs })).toEqual({ ...NO_CHANGE, changes: true });
    const repaired = await target.host.update(resourceUrn, id, read.properties, inputs, { oldInputs: inputs });
    expect(repaired.properties).toEqual(outputs);
    expect(await chainOf(target.ns)).toEqual([declared, RETURN]);
  });

  test("hand edit: foreign rule inserted above ours → read says out of place → diff changes → update moves ours back on top, the foreign rule stays", async () => {
    await target.ns.run(["iptables", "-I", "DOCKER-USER", "1", ...argvOf(FOREIGN).slice(2)]);
    expect(await chainOf(target.ns)).toEqual([FOREIGN, declared, RETURN]);

    const read = await target.host.read(resourceUrn, id, outputs, inputs);
    expect(read.id).toBe(id);
    expect(read.properties.ruleText).toEqual({ ipv4: declared });
    expect(read.properties.drift).toContain(`ipv4: out of place, below the foreign rule ${FOREIGN}: ${declared}`);

    expect(await target.host.diff(resourceUrn, id, read.properties, inputs, { oldInputs: inputs })).toEqual({ ...NO_CHANGE, changes: true });
    const repaired = await target.host.update(resourceUrn, id, read.properties, inputs, { oldInputs: inputs });
    expect(repaired.properties).toEqual(outputs);
    expect(await chainOf(target.ns)).toEqual([declared, FOREIGN, RETURN]);
    expect((await target.host.read(resourceUrn, id, repaired.properties, inputs)).properties.drift).toEqual([]);
  });

  test("delete removes our rule and nothing else: foreign and Docker's rules stay as they were", async () => {
    await target.host.delete(resourceUrn, id, outputs, { oldInputs: inputs });

    expect(await chainOf(target.ns)).toEqual([FOREIGN, ...before.ipv4.filter((l) => l.startsWith("-A DOCKER-USER "))]);
    expect((await saveOf(target.ns, "ipv4")).filter((l) => l !== FOREIGN)).toEqual(before.ipv4);
    expect(await saveOf(target.ns, "ipv6")).toEqual(before.ipv6);
    expect((await target.host.read(resourceUrn, id, outputs, inputs)).id).toBe("");
  });
});

// ---------------------------------------------------------------- many resources

describeAsRoot("a program of several rules: families, priorities, port lists", () => {
  let target: Target;
  let ordering: Target;
  let resources: RegisteredResource[];
  let before: { ipv4: string[]; ipv6: string[] };
  const state = new Map<string, { urn: string; inputs: PropertyMap; id: string; outputs: PropertyMap }>();
  const owner = (name: string) => `${RULES.project}/${RULES.stack}/rule/${name}`;

  beforeAll(async () => {
    [resources, target, ordering] = await Promise.all([
      rulesProgram("mixed"),
      startTarget("rules", RULES.project, RULES.stack),
      startTarget("order", RULES.project, RULES.stack),
    ]);
    resources = resources.filter((r) => r.type === RULE_TYPE);
    await Promise.all([target.host.configure(), ordering.host.configure()]);
    before = { ipv4: await saveOf(target.ns, "ipv4"), ipv6: await saveOf(target.ns, "ipv6") };
  });

  test("created in parallel as pulumi up does, each rule lands in its families, ordered by priority then name, above Docker's RETURN", async () => {
    expect(resources.map((r) => r.name).sort()).toEqual(["block-8080", "dns-v6", "established", "follower", "office-web"]);

    await Promise.all(
      resources.map(async (resource) => {
        const resourceUrn = urnOf(RULES, resource);
        const checked = await target.host.check(resourceUrn, {}, resource.inputs);
        expect(checked.failures).toEqual([]);
        const created = await target.host.create(resourceUrn, checked.inputs);
        expect(created.properties.ruleText).toEqual(checked.inputs.ruleText);
        state.set(resource.name, { urn: resourceUrn, inputs: checked.inputs, ...created, outputs: created.properties });
      }),
    );

    const v4 = await chainOf(target.ns, "ipv4");
    const v6 = await chainOf(target.ns, "ipv6");
    expect(v4.map((l) => /"pdf:[^:]+:(\d+)/.exec(l)?.[1] ?? l)).toEqual(["100", "200", "500", "900", RETURN]);
    expect(v4.map((l) => /rule\/([\w-]+):/.exec(l)?.[1] ?? l)).toEqual(["office-web", "block-8080", "established", "follower", RETURN]);
    expect(v6.map((l) => /rule\/([\w-]+):/.exec(l)?.[1] ?? l)).toEqual(["dns-v6", "block-8080"]);
    // ip6tables had no Docker layout: the chain and FORWARD's jump to it were created.
    expect(await saveOf(target.ns, "ipv6")).toContain(OUR_JUMP);

    expect(lineOf(v4, owner("office-web"))).toBe(
      `-A DOCKER-USER -s 10.1.0.0/16 -p tcp -m multiport --dports 80,443,8000:8010 -m comment --comment "pdf:${owner("office-web")}:100:0 office to web" -j ACCEPT`,
    );
    expect(lineOf(v6, owner("dns-v6"))).toMatch(/^-A DOCKER-USER ! -s 2001:db8::\/32 -p udp -m udp --dport 53 .* -j REJECT --reject-with icmp6-port-unreachable$/);
    expect(lineOf(v4, owner("established"))).toMatch(/-m conntrack --ctstate RELATED,ESTABLISHED .*-j RETURN$/);
    expect(lineOf(v4, owner("follower"))).toContain("-m iprange --src-range 192.0.2.10-192.0.2.20");
    for (const [name, { outputs }] of state) {
      const expected: Partial<Record<Family, string>> = {};
      if (v4.some((l) => l.includes(`"pdf:${owner(name)}:`))) expected.ipv4 = lineOf(v4, owner(name));
      if (v6.some((l) => l.includes(`"pdf:${owner(name)}:`))) expected.ipv6 = lineOf(v6, owner(name));
      expect({ name, ruleText: outputs.ruleText }).toEqual({ name, ruleText: expected });
    }
  });

  test("diff says no change and read says in sync, for every rule", async () => {
    for (const [name, r] of state) {
      expect({ name, diff: await target.host.diff(r.urn, r.id, r.outputs, r.inputs) }).toEqual({ name, diff: NO_CHANGE });
      expect({ name, read: await target.host.read(r.urn, r.id, r.outputs, r.inputs) }).toEqual({ name, read: { id: r.id, properties: r.outputs } });
    }
  });

  test("update of a rule in the middle of the chain rewrites it at its place in both families, nothing else moves", async () => {
    const r = state.get("block-8080")!;
    const chains = { ipv4: await chainOf(target.ns, "ipv4"), ipv6: await chainOf(target.ns, "ipv6") };
    const rename = (line: string) => line.replace(":200:0 both families", ":200:0 both families v2");
    const next = await target.host.check(r.urn, r.inputs, { ...r.inputs, comment: "both families v2" });
    await clearCalls(target);

    const updated = await target.host.update(r.urn, r.id, r.outputs, next.inputs, { oldInputs: r.inputs });

    for (const family of ["ipv4", "ipv6"] as const) {
      const position = chains[family].indexOf(lineOf(chains[family], owner("block-8080")));
      expect(await chainOf(target.ns, family)).toEqual(chains[family].map((l, i) => (i === position ? rename(l) : l)));
      expect((updated.properties.ruleText as PropertyMap)[family]).toBe(rename(chains[family][position]));
    }
    // One restore per family, each deleting the old rule by name and inserting the new one at its position.
    expect(transactions(await hostCalls(target)).map((c) => [c.tool, c.input.split("\n").slice(1, 3)])).toEqual(
      (["ipv4", "ipv6"] as const).map((family) => [
        `${family === "ipv4" ? "iptables" : "ip6tables"}-restore`,
        [`-D DOCKER-USER ${chains[family][1].slice("-A DOCKER-USER ".length)}`, `-I DOCKER-USER 2 ${rename(chains[family][1]).slice("-A DOCKER-USER ".length)}`],
      ]),
    );

    const back = await target.host.update(r.urn, r.id, updated.properties, r.inputs);
    expect(back.properties).toEqual(r.outputs);
    expect(await chainOf(target.ns, "ipv4")).toEqual(chains.ipv4);
    expect(await chainOf(target.ns, "ipv6")).toEqual(chains.ipv6);
  });

  test("a two-family rule missing in one family is drift, not gone; update puts it back at its place", async () => {
    const r = state.get("block-8080")!;
    const v6Line = lineOf(await chainOf(target.ns, "ipv6"), owner("block-8080"));
    await target.ns.run(["ip6tables", ...argvOf(v6Line).map((a) => (a === "-A" ? "-D" : a))]);

    const read = await target.host.read(r.urn, r.id, r.outputs, r.inputs);
    expect(read.id).toBe(r.id);
    expect(read.properties.ruleText).toEqual({ ipv4: (r.outputs.ruleText as PropertyMap).ipv4 });
    expect(read.properties.drift).toEqual([`ipv6: missing: ${v6Line}`]);
    expect((await target.host.diff(r.urn, r.id, read.properties, r.inputs)).changes).toBe(true);

    const repaired = await target.host.update(r.urn, r.id, read.properties, r.inputs);
    expect(repaired.properties).toEqual(r.outputs);
    expect((await chainOf(target.ns, "ipv6")).map((l) => /rule\/([\w-]+):/.exec(l)?.[1])).toEqual(["dns-v6", "block-8080"]);
  });

  test("destroy (deletes in parallel) leaves the IPv4 ruleset exactly as Docker had it, and no rule of ours in IPv6", async () => {
    await Promise.all([...state.values()].map((r) => target.host.delete(r.urn, r.id, r.outputs)));

    expect(await saveOf(target.ns, "ipv4")).toEqual(before.ipv4);
    expect(await chainOf(target.ns, "ipv6")).toEqual([]);
  });

  test("rules created with priorities 300, 100, 200, one after the other, stand as 100, 200, 300 at the top, above RETURN", async () => {
    const registered = await rulesProgram("ordering");
    const program = ["third", "first", "second"].map((name) => named(registered, name));
    expect(program.map((r) => r.inputs.priority)).toEqual([300, 100, 200]);

    for (const resource of program) {
      const resourceUrn = urnOf(RULES, resource);
      const checked = await ordering.host.check(resourceUrn, {}, resource.inputs);
      expect(checked.failures).toEqual([]);
      await ordering.host.create(resourceUrn, checked.inputs);
    }

    expect(await chainOf(ordering.ns)).toEqual([
      `-A DOCKER-USER -p tcp -m tcp --dport 9100 -m comment --comment "pdf:${owner("first")}:100:0" -j DROP`,
      `-A DOCKER-USER -p tcp -m tcp --dport 9200 -m comment --comment "pdf:${owner("second")}:200:0" -j DROP`,
      `-A DOCKER-USER -p tcp -m tcp --dport 9300 -m comment --comment "pdf:${owner("third")}:300:0" -j DROP`,
      RETURN,
    ]);
  });
});
