/**
 * The package as users get it. `npm pack` of a clean checkout (whose
 * `prepare` builds `bin/`) makes the tarball; it is installed offline into
 * an empty Pulumi program outside this repository (./installed-program.ts),
 * the quickstart example is compiled there against the installed types,
 * serialized as `pulumi up` does, and driven through the real dynamic
 * provider host (check → create → read → delete) running inside a network
 * namespace that holds Docker's layout, so the "local machine" it manages
 * is that namespace.
 */
import { readdir, readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Netns } from "../support/netns";
import { ProviderHost, urn, type PropertyMap } from "../support/provider-host";
import { serializeProgram, type RegisteredResource } from "../support/pulumi-program";
import { REPO, cleanEnv, compileProgram, installTarball, npmFlags, packCleanCheckout, run, writeProgram, type Packed } from "./installed-program";

const PROJECT = "pkg-smoke";
const STACK = "dev";
const OWNER = `${PROJECT}/${STACK}/rule/office-only-8080`;
const DOCKER_LAYOUT = path.join(REPO, "test/fixtures/docker-20.10/02-published-8080.v4.txt");
const RETURN = "-A DOCKER-USER -j RETURN";

/** Types of the engine, imported by its subpath as a user would. */
const ENGINE_TYPES_TS = `import { parseSave, type Ruleset, type CheckFailure } from "pulumi-docker-firewall/provider";
import type { DockerUserRuleArgs, ConnectionArgs } from "pulumi-docker-firewall";

export const ruleset: Ruleset = parseSave("*filter\\n:INPUT ACCEPT [0:0]\\nCOMMIT\\n");
export const failures: CheckFailure[] = [];
export const args: DockerUserRuleArgs = { action: "DROP", connection: { host: "192.0.2.1", sudo: true } satisfies ConnectionArgs };
`;

let scratch: string;
let program: string;
let packed: Packed;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "pdf-package-"));
  program = path.join(scratch, "program");
  packed = await packCleanCheckout(scratch);
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
  await rm(scratch, { recursive: true, force: true });
});

describe("npm pack of a clean checkout", () => {
  test("ships the SDK and the engine as prepare compiled them, with their types, the README and package.json, and nothing else", () => {
    const files = packed.files.map((f) => f.path).sort();
    console.log(`${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${files.length} files`);
    for (const file of files) expect(file).toMatch(/^(package\.json|README\.md|bin\/(sdk|provider)\/[\w/.-]+\.(js|d\.ts))$/);
    expect(files.filter((f) => /(^|\/)(test|tests|testing|fixtures|examples|bench)\/|\.map$/.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(["bin/sdk/index.js", "bin/sdk/index.d.ts", "bin/provider/index.js", "bin/provider/index.d.ts"]));
    // Every compiled module comes with its declarations.
    const js = files.filter((f) => f.endsWith(".js")).map((f) => f.slice(0, -".js".length));
    expect(files.filter((f) => f.endsWith(".d.ts")).map((f) => f.slice(0, -".d.ts".length))).toEqual(js);
  });
});

describe("installed into an empty Pulumi program", () => {
  beforeAll(async () => {
    const dependencies = Object.keys((JSON.parse(await readFile(path.join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies);
    const quickstart = await readFile(path.join(REPO, "examples/quickstart/index.ts"), "utf8");
    await writeProgram(program, { project: PROJECT, indexTs: quickstart, typeChecks: { "engine-types.ts": ENGINE_TYPES_TS } }, dependencies);
    await installTarball(program, path.join(scratch, packed.filename), path.join(scratch, "npm-cache"));
  }, 180_000);

  test("npm installs it offline, from nothing but the tarball, with one copy of @pulumi/pulumi in the program, peers in range", async () => {
    const manifest = JSON.parse(await readFile(path.join(program, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(manifest.dependencies["pulumi-docker-firewall"]).toMatch(/^file:/);
    expect(await copiesOf(path.join(program, "node_modules"), "@pulumi/pulumi")).toEqual([path.join(program, "node_modules/@pulumi/pulumi")]);
    // npm ls exits non-zero on a missing, invalid or extraneous package, peers included.
    await run("npm", ["ls", "--all", ...npmFlags(path.join(scratch, "npm-cache"))], { cwd: program, env: cleanEnv() });
  });

  test("the quickstart compiles against the installed types with the tsconfig of Pulumi's template", async () => {
    await compileProgram(program, "tsconfig.json");
  }, 60_000);

  // zod's declarations, which the engine's types show, need esModuleInterop (implied by module node16).
  test("the engine's types, by subpath, check with esModuleInterop under node and node16 resolution", async () => {
    await compileProgram(program, "tsconfig.checks.json");
    await compileProgram(program, "tsconfig.checks.json", ["--module", "node16", "--moduleResolution", "node16"]);
  }, 60_000);

  describe("driven through the dynamic provider host, in a namespace holding Docker's layout", () => {
    let ns: Netns;
    let host: ProviderHost;
    let rule: RegisteredResource;
    let resourceUrn: string;
    let inputs: PropertyMap;
    let outputs: PropertyMap;
    let before: string[];

    beforeAll(async () => {
      const resources = await serializeProgram(program, { project: PROJECT, stack: STACK });
      rule = resources.find((r) => r.type.endsWith(":DockerUserRule"))!;
      resourceUrn = urn(PROJECT, STACK, rule.type, rule.name);
      ns = await Netns.create("pkg");
      cleanups.push(() => ns.delete());
      await ns.run(["iptables-restore"], { stdin: await readFile(DOCKER_LAYOUT, "utf8") });
      before = await saveOf(ns);
      host = await ProviderHost.start({ cwd: program, project: PROJECT, stack: STACK, prefix: ["ip", "netns", "exec", ns.name] });
      cleanups.push(() => host.close());
    }, 120_000);

    test("the serialized provider requires the installed engine by name, with no path of this machine", () => {
      const provider = String(rule.inputs.__provider);
      expect(provider).toContain('require("pulumi-docker-firewall/provider")');
      expect(provider).not.toContain(scratch);
      expect(provider).not.toContain(REPO);
      expect(program.startsWith(REPO)).toBe(false); // nothing of the repository's node_modules is reachable from the program
    });

    test("configure, then check accepts the quickstart's inputs", async () => {
      await host.configure();
      const checked = await host.check(resourceUrn, {}, rule.inputs);
      expect(checked.failures).toEqual([]);
      inputs = checked.inputs;
    });

    test("create writes the rule at the top of DOCKER-USER", async () => {
      const created = await host.create(resourceUrn, inputs);
      expect(created.id).toBe(OWNER);
      outputs = created.properties;
      const chain = (await saveOf(ns)).filter((line) => line.startsWith("-A DOCKER-USER "));
      expect(chain).toEqual([(outputs.ruleText as { ipv4: string }).ipv4, RETURN]);
      expect(chain[0]).toContain(`"pdf:${OWNER}:100:0 only the office may reach 8080"`);
    });

    test("read finds it in place", async () => {
      const read = await host.read(resourceUrn, OWNER, outputs, inputs);
      expect(read.id).toBe(OWNER);
      expect(read.properties).toMatchObject({ ruleText: outputs.ruleText, drift: [] });
    });

    test("delete leaves the firewall as it was, and read then says gone", async () => {
      await host.delete(resourceUrn, OWNER, outputs);
      expect(await saveOf(ns)).toEqual(before);
      expect((await host.read(resourceUrn, OWNER, outputs, inputs)).id).toBe("");
    });
  });
});

/** Every directory under `nodeModules` (nested ones included) that holds package `name`. */
async function copiesOf(nodeModules: string, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(nodeModules, { recursive: true, withFileTypes: true })) {
    const dir = path.join(entry.parentPath, entry.name);
    if (entry.isDirectory() && dir.endsWith(`/node_modules/${name}`)) found.push(dir);
  }
  return found.sort();
}

/** The namespace's `iptables-save`, without comment lines and counters. */
async function saveOf(ns: Netns): Promise<string[]> {
  return (await ns.run(["iptables-save"]))
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, "$1"));
}
