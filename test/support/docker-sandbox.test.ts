import * as fs from "node:fs";
import { LocalHost } from "../../provider/host/local-host";
import { DockerSandbox, httpUrl } from "./docker-sandbox";

// A real dockerd in a namespace, two client namespaces, one published httpd.

const local = new LocalHost();
let sandbox: DockerSandbox | undefined;

beforeAll(async () => {
  sandbox = await DockerSandbox.start({ clients: 2, ipv6: true });
  await sandbox.daemon.runHttpd("web", "8080:80");
});

afterAll(() => sandbox?.stop());

function started(): DockerSandbox {
  if (!sandbox) throw new Error("the sandbox did not start");
  return sandbox;
}

test("dockerd sets up DOCKER-USER and the FORWARD jump in the target's firewall", async () => {
  const save = await started().target.run(["iptables-save", "-t", "filter"]);
  expect(save).toMatch(/^:FORWARD DROP /m);
  expect(save).toMatch(/^:DOCKER-USER - /m);
  expect(save).toMatch(/^-A FORWARD -j DOCKER-USER$/m);
});

test("a port published with -p 8080:80 answers both clients over IPv4 and IPv6", async () => {
  const sb = started();
  for (const [i, client] of sb.clients.entries()) {
    expect(await sb.fetch(i, httpUrl(client.targetV4, 8080))).toBe("web\n");
    expect(await sb.fetch(i, httpUrl(client.targetV6, 8080))).toBe("web\n");
  }
  // Through T, a client also reaches T's address on another client's link.
  expect(await sb.fetch(0, httpUrl(sb.clients[1].targetV4, 8080))).toBe("web\n");
  expect(await sb.fetch(1, httpUrl(sb.clients[0].targetV6, 8080))).toBe("web\n");
});

test("a DOCKER-USER drop on client 0's interface blocks client 0 only", async () => {
  const sb = started();
  const [client0, client1] = sb.clients;
  expect(sb.target.interfaces[0]).toBe(client0.targetIf);
  await sb.target.run([
    "iptables", "-I", "DOCKER-USER", "-i", client0.targetIf, "-p", "tcp",
    "-m", "conntrack", "--ctorigdstport", "8080", "--ctdir", "ORIGINAL", "-j", "DROP",
  ]);
  const [blocked, allowed] = await Promise.all([
    sb.fetch(0, httpUrl(client0.targetV4, 8080), 2),
    sb.fetch(1, httpUrl(client1.targetV4, 8080)),
  ]);
  expect(blocked).toBeUndefined();
  expect(allowed).toBe("web\n");
});

test("stop removes the namespaces, the daemon, its mounts and its directory", async () => {
  const sb = started();
  const names = [sb.target.name, ...sb.clients.map((c) => c.ns.name)];
  const dir = sb.daemon.dir;
  await sb.stop();
  await sb.stop(); // idempotent

  const namespaces = (await local.exec(["ip", "netns", "list"])).stdout;
  for (const name of names) expect(namespaces).not.toContain(name);
  expect((await local.exec(["pgrep", "-a", "dockerd"])).stdout).not.toContain(dir);
  expect((await local.exec(["pgrep", "-a", "containerd"])).stdout).not.toContain(dir);
  expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(dir);
  expect(fs.existsSync(dir)).toBe(false);
});
