import { existsSync } from "node:fs";
import { mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { compiledPath } from "./compiled";
import { Netns } from "./netns";
import { DYNAMIC_RESOURCE_TYPE, ProviderError, ProviderHost, UNKNOWN, urn, type PropertyMap } from "./provider-host";
import { serializeProgram, type RegisteredResource } from "./pulumi-program";

const project = "echo";
const stack = "test";
const program = compiledPath("test/fixtures/echo-program");
const firstUrn = urn(project, stack, DYNAMIC_RESOURCE_TYPE, "first");

let dir: string;
const hosts: ProviderHost[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "echo-"));
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.close()));
  await rm(dir, { recursive: true, force: true });
});

function serialize(preview = false): Promise<RegisteredResource[]> {
  return serializeProgram(program, { project, stack, config: { "echo:dir": dir }, preview });
}

function named(resources: readonly RegisteredResource[], name: string): RegisteredResource {
  const found = resources.find((resource) => resource.name === name);
  if (!found) throw new Error(`no resource ${name} among ${resources.map((resource) => resource.name).join(", ")}`);
  return found;
}

async function startHost(prefix?: readonly string[]): Promise<ProviderHost> {
  const host = await ProviderHost.start({ cwd: program, project, stack, config: { "echo:dir": dir }, prefix });
  hosts.push(host);
  return host;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("serializeProgram", () => {
  test("reports every resource with its real __provider; secrets unwrapped and listed; undefined inputs absent", async () => {
    const resources = await serialize();

    expect(resources.map((resource) => [resource.type, resource.name])).toEqual([
      ["pulumi:pulumi:Stack", "echo-test"],
      [DYNAMIC_RESOURCE_TYPE, "first"],
      [DYNAMIC_RESOURCE_TYPE, "second"],
    ]);
    const first = named(resources, "first");
    expect(first.inputs).toEqual({ __provider: expect.stringContaining("exports.handler"), dir, content: "hello", secret: "s3cr3t" });
    expect(first.inputs.__provider).toContain('require("node:fs")');
    expect(first.secretKeys).toEqual(["secret"]);
    // `content: first.path`: an output the mocks never return, so undefined and dropped.
    expect(named(resources, "second").inputs).toEqual({ __provider: first.inputs.__provider, dir, name: "second.txt" });
  });

  test("in a preview, a value not known yet is the unknown sentinel", async () => {
    expect(named(await serialize(true), "second").inputs.content).toBe(UNKNOWN);
  });

  test("a failing program rejects with its stderr", async () => {
    await expect(serializeProgram(program, { project, stack })).rejects.toThrow("Missing required configuration variable 'echo:dir'");
  });
});

describe("ProviderHost drives the dynamic provider host as pulumi up, refresh and destroy do", () => {
  let host: ProviderHost;
  let news: PropertyMap;
  let inputs: PropertyMap;
  let id: string;
  let outputs: PropertyMap;
  const file = () => path.join(dir, "echo.txt");

  beforeAll(async () => {
    news = named(await serialize(), "first").inputs;
    host = await startHost();
  });

  test("configure: the host accepts neither secrets nor previews", async () => {
    expect(await host.configure()).toEqual({ acceptSecrets: false, supportsPreview: false });
  });

  test("check: failures name the property; checked inputs (defaults, __provider) are what counts", async () => {
    expect(await host.check(firstUrn, {}, { ...news, dir: "relative" })).toEqual({
      inputs: expect.anything(),
      failures: [{ property: "dir", reason: "dir must be an absolute path" }],
    });

    const checked = await host.check(firstUrn, {}, news);
    expect(checked).toEqual({ inputs: { ...news, name: "echo.txt" }, failures: [] });
    inputs = checked.inputs;
  });

  test("check: an unknown value reaches the provider as the sentinel string", async () => {
    const second = named(await serialize(true), "second");
    const checked = await host.check(urn(project, stack, DYNAMIC_RESOURCE_TYPE, "second"), {}, second.inputs);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.content).toBe(UNKNOWN);
  });

  test("create writes the file and returns the id and the outputs with __provider", async () => {
    const created = await host.create(firstUrn, inputs);

    expect(await readFile(file(), "utf8")).toBe("hello");
    expect(created.id).toBe(file());
    expect(created.properties).toEqual({ ...inputs, path: file(), writes: 1, netns: await readlink("/proc/self/ns/net") });
    ({ id, properties: outputs } = created);
  });

  test("diff compares stored outputs with new inputs", async () => {
    const noChange = { changes: false, replaces: [], deleteBeforeReplace: false, diffs: [] };
    expect(await host.diff(firstUrn, id, outputs, inputs, { oldInputs: inputs })).toEqual(noChange);
    expect(await host.diff(firstUrn, id, outputs, { ...inputs, content: "bye" })).toEqual({ ...noChange, changes: true });
    expect(await host.diff(firstUrn, id, outputs, { ...inputs, name: "other.txt" })).toEqual({ ...noChange, changes: true, replaces: ["name"] });
  });

  test("update rewrites the file and returns the full outputs", async () => {
    const updated = await host.update(firstUrn, id, outputs, { ...inputs, content: "bye" }, { oldInputs: inputs });

    expect(await readFile(file(), "utf8")).toBe("bye");
    expect(updated.properties).toEqual({ ...outputs, content: "bye", writes: 2 });
    outputs = updated.properties;
  });

  test("read (refresh) reports drift in outputs and inputs", async () => {
    await writeFile(file(), "drifted");

    const read = await host.read(firstUrn, id, outputs, inputs);

    expect(read).toEqual({ id, properties: { ...outputs, content: "drifted" }, inputs: { ...inputs, content: "drifted" } });
  });

  test("delete removes the file; a later read answers id '' (gone)", async () => {
    await host.delete(firstUrn, id, outputs, { oldInputs: inputs });

    expect(existsSync(file())).toBe(false);
    expect((await host.read(firstUrn, id, outputs, inputs)).id).toBe("");
  });

  test("a failing create rejects with the gRPC status and the provider's message", async () => {
    const failure = host.create(firstUrn, { ...inputs, dir: path.join(dir, "missing") });

    await expect(failure).rejects.toBeInstanceOf(ProviderError);
    await expect(failure).rejects.toMatchObject({ method: "create", code: 2, details: expect.stringContaining("ENOENT") });
  });

  test("an error carrying an id comes back as an init failure: the engine would keep the resource", async () => {
    const failure = host.create(firstUrn, { ...inputs, name: "partial.txt", failAfterWrite: "verification failed" });

    await expect(failure).rejects.toMatchObject({
      details: "verification failed",
      initFailure: { id: path.join(dir, "partial.txt"), reasons: ["verification failed"], properties: expect.objectContaining({ writes: 1 }) },
    });
    expect(existsSync(path.join(dir, "partial.txt"))).toBe(true);
  });

  test("the host ignores CreateRequest.preview: it really creates", async () => {
    const created = await host.create(firstUrn, { ...inputs, name: "preview.txt" }, { preview: true });

    expect(await readFile(created.id, "utf8")).toBe("hello");
  });

  test("close stops the bridge and the host, twice is fine, and later calls fail", async () => {
    await host.close();
    await host.close();

    expect(isRunning(host.hostPid)).toBe(false);
    await expect(host.check(firstUrn, {}, inputs)).rejects.toThrow("provider host is closed");
  });
});

const asRoot = process.getuid?.() === 0 ? test : test.skip;

describe("ProviderHost with an argv prefix", () => {
  asRoot("runs the host inside a network namespace and reaches it through the bridge", async () => {
    const ns = await Netns.create("phost");
    try {
      const news = named(await serialize(), "first").inputs;
      const host = await startHost(["ip", "netns", "exec", ns.name]);
      await host.configure();
      const { inputs } = await host.check(firstUrn, {}, { ...news, name: "netns.txt" });

      const created = await host.create(firstUrn, inputs);

      expect(created.properties.netns).toBe((await ns.run(["readlink", "/proc/self/ns/net"])).trim());
      expect(created.properties.netns).not.toBe(await readlink("/proc/self/ns/net"));
      await host.close();
      expect(isRunning(host.hostPid)).toBe(false);
    } finally {
      await ns.delete();
    }
  });
});
