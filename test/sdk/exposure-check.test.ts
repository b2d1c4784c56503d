/**
 * The exposure-check example end to end on a real firewall: the program
 * runs (serialized as `pulumi up` does, resources mocked) inside a network
 * namespace holding Docker 20.10's rules for a port published on 8080, so
 * `getExposure` reads that namespace's live firewall. Open to everyone, the
 * deployment fails naming the port; once our rules are on the host (applied
 * by the engine, as the real `up` of its resources does), it passes.
 */
import { publishedPort, publishedPortDefault } from "../../provider";
import { HostSession } from "../../provider/host-session";
import { publishedPortRules, publishedPortSchema } from "../../provider/resources/published-port";
import { publishedPortDefaultRules, publishedPortDefaultSchema } from "../../provider/resources/published-port-default";
import { compiledPath } from "../support/compiled";
import { fixtureText } from "../support/fixtures";
import { Netns } from "../support/netns";
import { serializeProgram } from "../support/pulumi-program";

const PROGRAM = { project: "exposure-check", stack: "dev" };

let ns: Netns;

beforeAll(async () => {
  ns = await Netns.create("exc");
  await ns.run(["iptables-restore"], { stdin: fixtureText("docker-20.10/02-published-8080.v4.txt") });
});

afterAll(async () => {
  await ns?.delete();
});

test("open to everyone: the deployment fails, naming the port and what serves it", async () => {
  await expect(serializeProgram(compiledPath("examples/exposure-check/index.js"), { ...PROGRAM, netns: ns.name })).rejects.toThrow(
    /reachable from everyone: 8080\/tcp \(ipv4, on 0\.0\.0\.0, served by 172\.17\.0\.2:80\)/,
  );
});

test("with the program's rules on the host (closed by default, the office allowed), the deployment passes; its resources pass check", async () => {
  const session = new HostSession(ns, "auto");
  const closed = publishedPortDefaultSchema.parse({ __owner: "exposure-check/dev/default/closed" });
  const web = publishedPortSchema.parse({ __owner: "exposure-check/dev/port/web", hostPort: 8080, allowFrom: ["198.51.100.0/24"] });
  await Promise.all([session.apply({ owner: closed.__owner, rules: (s) => publishedPortDefaultRules(closed, s) }), session.apply({ owner: web.__owner, rules: (s) => publishedPortRules(web, s) })]);
  const registered = await serializeProgram(compiledPath("examples/exposure-check/index.js"), { ...PROGRAM, netns: ns.name });
  const ours = registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/pulumi-docker-firewall:"));
  expect(ours.map((r) => [r.type.split(":").pop(), r.inputs.__owner])).toEqual([
    ["PublishedPortDefault", "exposure-check/dev/default/closed"],
    ["PublishedPort", "exposure-check/dev/port/web"],
  ]);
  expect((await publishedPortDefault.check({}, ours[0].inputs)).failures).toEqual([]);
  expect((await publishedPort.check({}, ours[1].inputs)).failures).toEqual([]);
});
