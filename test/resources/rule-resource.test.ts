import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dockerUserRule } from "../../provider/resources/docker-user-rule-resource";
import { publishedPort } from "../../provider/resources/published-port-resource";
import { ValidationError } from "../../provider/errors";
import { closeAllSessions, setHostFactory } from "../../provider/sessions";
import { UNKNOWN } from "../../provider/schema/validate";
import { FakeHost } from "../../provider/testing/fake-host";

const DOCKER = readFileSync(join(__dirname, "../fixtures/docker-20.10/02-published-8080.v4.txt"), "utf8");
const OWNER = "p/s/rule/web";
let host: FakeHost;

beforeEach(async () => {
  await closeAllSessions();
  host = new FakeHost({ ipv4: DOCKER });
  setHostFactory(() => host);
});
afterAll(async () => {
  setHostFactory();
  await closeAllSessions();
});

const chain = () => host.save("ipv4").split("\n").filter((l) => l.startsWith("-A DOCKER-USER"));

async function created(news: Record<string, unknown>) {
  const { inputs } = await dockerUserRule.check({}, news);
  return { inputs, ...(await dockerUserRule.create(inputs)) };
}

describe("the rule resource lifecycle (fake host)", () => {
  const args = { __owner: OWNER, action: "DROP", protocol: "tcp", originalDestinationPort: 8080, family: "ipv4" };

  it("creates, reads in sync, updates in place and deletes only its rule", async () => {
    const { id, outs, inputs } = await created(args);
    expect(id).toBe(OWNER);
    expect(outs.ruleText).toEqual(inputs.ruleText);
    expect(outs.drift).toEqual([]);
    expect(chain()).toHaveLength(2);

    const read = await dockerUserRule.read(id, outs);
    expect(read).toEqual({ id, props: outs });
    expect(await dockerUserRule.diff(id, read.props, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });

    const { inputs: news } = await dockerUserRule.check(inputs, { ...args, originalDestinationPort: 9090 });
    expect((await dockerUserRule.diff(id, outs, news)).changes).toBe(true);
    const { outs: updated } = await dockerUserRule.update(id, outs, news);
    expect(String((updated.ruleText as { ipv4: string }).ipv4)).toContain("--ctorigdstport 9090");
    expect(chain()).toHaveLength(2);

    await dockerUserRule.delete(id, updated);
    expect(chain()).toEqual(["-A DOCKER-USER -j RETURN"]);
  });

  it("reports drift on read, and the next diff asks for an update that repairs it", async () => {
    const { id, outs, inputs } = await created(args);
    host.edit("ipv4", "*filter\n-I DOCKER-USER 1 -s 192.0.2.9/32 -j ACCEPT\nCOMMIT\n");
    const { props } = await dockerUserRule.read(id, outs);
    expect(props.drift).toEqual([expect.stringMatching(/^ipv4: out of place/)]);
    expect((await dockerUserRule.diff(id, props, inputs)).changes).toBe(true);
    await dockerUserRule.update(id, props, inputs);
    expect(chain()).toEqual([String((outs.ruleText as { ipv4: string }).ipv4), "-A DOCKER-USER -s 192.0.2.9/32 -j ACCEPT", "-A DOCKER-USER -j RETURN"]);
  });

  it("reads a rule removed by hand as gone", async () => {
    const { id, outs } = await created(args);
    host.edit("ipv4", "*filter\n-D DOCKER-USER 1\nCOMMIT\n");
    expect(await dockerUserRule.read(id, outs)).toEqual({ id: "", props: {} });
  });

  it("replaces (delete first) when the target host or owner changes, updates otherwise", async () => {
    const olds = { ...args, ruleText: {}, drift: [] };
    expect(await dockerUserRule.diff("x", olds, { ...args, connection: { host: "203.0.113.5" } })).toEqual({ changes: true, replaces: ["connection"], deleteBeforeReplace: true });
    expect(await dockerUserRule.diff("x", olds, { ...args, __owner: "p/s/rule/other" })).toMatchObject({ replaces: ["__owner"] });
    expect(await dockerUserRule.diff("x", olds, { ...args, priority: 7 })).toMatchObject({ changes: true, replaces: [] });
  });

  it("a create is one read and one apply, a read is one command, and a PublishedPort's outputs come from the same read", async () => {
    const { id, outs } = await created(args);
    await dockerUserRule.read(id, outs);
    expect(host.calls).toEqual(["read", "apply", "read"]);
    const { inputs } = await publishedPort.check({}, { __owner: "p/s/port/web", hostPort: 8080, allowFrom: [] });
    const port = await publishedPort.create(inputs);
    expect(host.calls).toEqual(["read", "apply", "read", "read", "apply"]);
    expect(port.outs).toMatchObject({ published: true, bindAddresses: ["0.0.0.0"], targets: ["172.17.0.2:80"] });
  });

  it("a new user, sudo or key on the same host is an update; another spelling of the same address is no change of target", async () => {
    const olds = { ...args, connection: { host: "2001:db8::5", user: "root" }, ruleText: {}, drift: [] };
    expect(await dockerUserRule.diff("x", olds, { ...args, connection: { host: "2001:db8::5", user: "admin", sudo: true } })).toMatchObject({ changes: true, replaces: [] });
    expect(await dockerUserRule.diff("x", olds, { ...args, connection: { host: "2001:0DB8:0:0::5", user: "root" } })).toMatchObject({ replaces: [] });
    expect(await dockerUserRule.diff("x", olds, { ...args, connection: { host: "2001:db8::6", user: "root" } })).toMatchObject({ replaces: ["connection"] });
  });

  it("during a preview, an unknown connection is a possible change, not a crash or a replacement", async () => {
    const olds = { ...args, connection: { host: "203.0.113.5" }, ruleText: {}, drift: [] };
    expect(await dockerUserRule.diff("x", olds, { ...args, connection: UNKNOWN })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });

  it("deletes and refreshes state written by another version, whose inputs no longer pass today's checks", async () => {
    const { id, outs } = await created(args);
    const old = { ...outs, comment: "it's from an older, laxer version", connection: undefined, someRetiredInput: 1 };
    const { props } = await dockerUserRule.read(id, old);
    expect(props.drift).toEqual([expect.stringMatching(/no longer pass this version's checks: .*comment.*unknown property "someRetiredInput"/s)]);
    expect(props.ruleText).toEqual(outs.ruleText);
    await dockerUserRule.delete(id, old);
    expect(chain()).toEqual(["-A DOCKER-USER -j RETURN"]);
  });

  it("a misspelled key fails check, create and update, and nothing reaches the host", async () => {
    const misspelled = { ...args, action: "ACCEPT", sourc: "10.0.0.0/8" };
    expect((await dockerUserRule.check({}, misspelled)).failures).toEqual([{ property: "sourc", reason: 'unknown property "sourc"; did you mean "source"?' }]);
    await expect(dockerUserRule.create(misspelled)).rejects.toThrow(/sourc: unknown property "sourc"; did you mean "source"\?/);
    await expect(dockerUserRule.update(OWNER, {}, misspelled)).rejects.toThrow(ValidationError);
    const port = { __owner: "p/s/port/web", hostPort: 8080, allowFrom: [], allowfrom: ["0.0.0.0/0"] };
    await expect(publishedPort.create(port)).rejects.toThrow(/allowfrom: unknown property "allowfrom"; did you mean "allowFrom"\?/);
    expect(host.calls).toEqual([]);
  });

  it("a PublishedPort's checked inputs create it, and its stored outputs, Docker's view included, read back in sync", async () => {
    const { inputs } = await publishedPort.check({}, { __owner: "p/s/port/web", hostPort: 8080, allowFrom: ["192.0.2.0/24"], family: "ipv4" });
    expect(Object.keys(inputs)).toContain("ruleText");
    const { id, outs } = await publishedPort.create({ ...inputs, __provider: "exports.handler = …" });
    expect(Object.keys(outs).sort()).toEqual(["__owner", "__provider", "allowFrom", "bindAddresses", "drift", "family", "guardedPaths", "hostPort", "published", "ruleText", "served", "targets", "warnings"]);
    expect(await publishedPort.read(id, outs)).toEqual({ id, props: outs });
    expect(await publishedPort.diff(id, outs, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    expect((await publishedPort.update(id, outs, outs)).outs).toEqual(outs);
  });

  it("sends nothing to the host when the inputs are invalid", async () => {
    await expect(dockerUserRule.create({ ...args, source: "not-an-address" })).rejects.toThrow(/source: "not-an-address" is not an IPv4 or IPv6 address/);
    expect(host.calls).toEqual([]);
  });
});
