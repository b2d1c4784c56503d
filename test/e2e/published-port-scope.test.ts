/**
 * A PublishedPort guards the published port and nothing else: with real
 * packets, a client outside is dropped on the published port, while a
 * container's own outgoing connection to the same port number elsewhere
 * still goes through (the allowlist matches only connections Docker
 * translated). The control shows a rule keyed on the port alone would
 * have cut that outgoing connection.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostSession } from "../../provider/host-session";
import { dockerUserRules, dockerUserRuleSchema } from "../../provider/resources/docker-user-rule";
import { publishedPortRules, publishedPortSchema } from "../../provider/resources/published-port";
import { BUSYBOX_IMAGE } from "../support/docker-daemon";
import { DockerSandbox, httpUrl } from "../support/docker-sandbox";

let sandbox: DockerSandbox | undefined;
let page: string | undefined;
const sb = () => sandbox!;

beforeAll(async () => {
  sandbox = await DockerSandbox.start({ clients: 1, ipv6: false });
  await sb().daemon.runHttpd("web", "8080:80");
  // The client runs a web server of its own on 8080, for a container to reach. It goes to the
  // background and is killed with the client's namespace.
  page = await mkdtemp(join(tmpdir(), "pdf-scope-"));
  await writeFile(join(page, "index.html"), "client's own server\n");
  const client = sb().clients[0].ns;
  await client.run(["busybox", "httpd", "-p", "8080", "-h", page]);
  for (let tries = 0; (await client.exec(["timeout", "2", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/"])).code !== 0; tries++) {
    if (tries === 50) throw new Error("the client's httpd did not start");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);

afterAll(async () => {
  await sandbox?.stop();
  if (page) await rm(page, { recursive: true, force: true });
});

/** A container on the Docker host fetches from the client's own server on port 8080. */
async function containerReachesClient(): Promise<boolean> {
  const url = httpUrl(sb().clients[0].v4, 8080);
  const argv = ["run", "--rm", BUSYBOX_IMAGE, "/bin/busybox", "timeout", "3", "/bin/busybox", "wget", "-q", "-O", "-", url];
  return sb().daemon.docker(argv, { timeoutMs: 8_000 }).then(
    (body) => body === "client's own server\n",
    () => false,
  );
}

test("the client's server answers a container before any rule", async () => {
  expect(await containerReachesClient()).toBe(true);
  expect(await sb().fetch(0, httpUrl(sb().clients[0].targetV4, 8080), 2)).toBe("web\n");
});

test("with an empty allowFrom, the client is dropped on the published port, and a container's own outgoing connection to port 8080 still passes", async () => {
  const session = new HostSession(sb().target, "auto");
  const owner = "scope/test/port/web";
  const rules = publishedPortRules(publishedPortSchema.parse({ __owner: owner, hostPort: 8080, allowFrom: [], family: "ipv4" }));
  await session.apply({ owner, rules });
  try {
    expect(await sb().fetch(0, httpUrl(sb().clients[0].targetV4, 8080), 2)).toBeUndefined();
    expect(await containerReachesClient()).toBe(true);
  } finally {
    await session.apply({ owner, rules: { ipv4: [], ipv6: [] } });
  }
});

test("control: a rule keyed on the port number alone would cut the container's outgoing connection", async () => {
  const session = new HostSession(sb().target, "auto");
  const owner = "scope/test/rule/port-only";
  const args = dockerUserRuleSchema.parse({ __owner: owner, action: "DROP", family: "ipv4", protocol: "tcp", ctstate: ["NEW"], originalDestinationPort: 8080 });
  await session.apply({ owner, rules: dockerUserRules(args) });
  try {
    expect(await containerReachesClient()).toBe(false);
  } finally {
    await session.apply({ owner, rules: { ipv4: [], ipv6: [] } });
  }
});
