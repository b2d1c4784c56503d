import * as fs from "node:fs";
import type { HttpdContainer } from "./docker-daemon";
import { ENGINES_DIR_VARIABLE, enginePath, enginesUnderTest, type DockerEngine } from "./docker-engines";
import { DockerSandbox, httpUrl } from "./docker-sandbox";
import { run } from "./netns";

/**
 * Every Docker engine users run, started in the lab with its default
 * settings and with IPv6 on the default bridge (one sandbox per combination,
 * shared by its tests), a busybox httpd published with `-p 8080:80`, and the
 * facts the product depends on checked with real packets from a client
 * namespace. One line per combination sums up what was seen and how long it
 * took. Missing engines fail the file under CI=true and are named and left
 * out elsewhere (see `enginesUnderTest`).
 */

/** What each engine does, as seen on the real daemons. */
const EXPECTED: Readonly<Record<DockerEngine, { readonly directRouting: boolean; readonly ip6DockerUser: boolean }>> = {
  // directRouting: a client reaches a container's own address through FORWARD (28 and later drop it in raw PREROUTING).
  // ip6DockerUser: with ip6tables on, Docker makes DOCKER-USER and FORWARD's jump to it for IPv6 too (from 23.0).
  "20.10": { directRouting: true, ip6DockerUser: false },
  "26.1.5": { directRouting: true, ip6DockerUser: true },
  "28.5.2": { directRouting: false, ip6DockerUser: true },
  "29.7.2": { directRouting: false, ip6DockerUser: true },
};

const SETTINGS = [
  { label: "default settings", ipv6: false },
  { label: "IPv6 on the bridge", ipv6: true },
] as const;

const PUBLISHED = 8080;
/** Seconds a fetch that should be dropped is given before it counts as dropped. */
const DENIED_WAIT_S = 2;
const DOCKER_USER_JUMP = "-A FORWARD -j DOCKER-USER";

const engines = enginesUnderTest();

describe("enginesUnderTest, with the engines directory pointing nowhere", () => {
  const saved = { dir: process.env[ENGINES_DIR_VARIABLE], ci: process.env.CI };

  beforeEach(() => {
    process.env[ENGINES_DIR_VARIABLE] = "/nonexistent/pdf-engines";
  });

  afterEach(() => {
    for (const [name, value] of [[ENGINES_DIR_VARIABLE, saved.dir], ["CI", saved.ci]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    jest.restoreAllMocks();
  });

  /** A fresh copy of the module, so that no engine counts as already reported. */
  function freshModule(): typeof import("./docker-engines") {
    let fresh: typeof import("./docker-engines") | undefined;
    jest.isolateModules(() => {
      fresh = require("./docker-engines") as typeof import("./docker-engines");
    });
    if (!fresh) throw new Error("docker-engines did not load");
    return fresh;
  }

  test("under CI=true a missing engine throws, naming what is missing", () => {
    process.env.CI = "true";
    expect(() => freshModule().enginesUnderTest()).toThrow(/26\.1\.5 \(no dockerd, docker-proxy, containerd, containerd-shim-runc-v2, runc in \/nonexistent\/pdf-engines\/26\.1\.5\/bin\)/);
  });

  test("elsewhere the missing engines are left out and named once", () => {
    process.env.CI = "false";
    const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
    const { enginesUnderTest: underTest } = freshModule();
    expect(underTest()).toEqual(["20.10"]);
    expect(underTest(["20.10", "29.7.2"])).toEqual(["20.10"]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/^not running the tests for Docker 26\.1\.5 \(no dockerd, .*; 28\.5\.2 \(.*; 29\.7\.2 \(no /);
  });
});

describe.each(engines)("Docker %s", (engine) => {
  describe.each(SETTINGS)("$label", ({ label, ipv6 }) => {
    let sandbox: DockerSandbox | undefined;
    let container: HttpdContainer | undefined;
    const summary: string[] = [];

    beforeAll(async () => {
      const began = Date.now();
      sandbox = await DockerSandbox.start({ engine, ipv6, clients: 1 });
      container = await sandbox.daemon.runHttpd("web", `${PUBLISHED}:80`, { restart: true });
      summary.push(`up and serving in ${since(began)} s`);
    }, 120_000);

    afterAll(async () => {
      const began = Date.now();
      await sandbox?.stop();
      console.log(`Docker ${engine}, ${label}: ${[...summary, `stop ${since(began)} s`].join("; ")}`);
    }, 90_000);

    function sb(): DockerSandbox {
      if (!sandbox) throw new Error("the sandbox did not start");
      return sandbox;
    }

    function web(): HttpdContainer {
      if (!container) throw new Error("the container did not start");
      return container;
    }

    test("dockerd runs this engine's own docker-proxy, containerd and runc", async () => {
      const components = await sb().daemon.docker(["version", "--format", "{{range .Server.Components}}{{.Name}}={{.Version}}\n{{end}}"]);
      const version = (name: string): string => {
        const found = components.match(new RegExp(`^${name}=(\\S+)$`, "m"))?.[1];
        if (found === undefined) throw new Error(`docker version names no ${name}:\n${components}`);
        return found;
      };
      expect(await programOutput(engine, ["containerd", "--version"])).toContain(version("containerd"));
      expect(await programOutput(engine, ["runc", "--version"])).toContain(`runc version ${version("runc")}`);
      const proxies = await dockerProxies(sb());
      expect(proxies.length).toBeGreaterThan(0);
      const expected = (await programOutput(engine, ["which", "docker-proxy"])).trim();
      for (const proxy of proxies) expect(fs.realpathSync(`/proc/${proxy.pid}/exe`)).toBe(fs.realpathSync(expected));
      summary.push(`containerd ${version("containerd")}, runc ${version("runc")}`);
    });

    test("a client fetches the published page over IPv4 and IPv6 (T's addresses on its link)", async () => {
      const [client] = sb().clients;
      expect(await sb().fetch(0, httpUrl(client.targetV4, PUBLISHED))).toBe("web\n");
      expect(await sb().fetch(0, httpUrl(client.targetV6, PUBLISHED))).toBe("web\n");
      summary.push("published page over IPv4 and IPv6");
    });

    if (!ipv6) {
      test("with IPv6 off on the bridge, docker-proxy serves [::]:8080 (the INPUT path)", async () => {
        const addresses = (await dockerProxies(sb())).map((p) => p.address);
        expect(addresses).toContain(`[::]:${PUBLISHED}`);
        summary.push(`docker-proxy on ${addresses.sort().join(" ")}`);
      });
    }

    test(`a client fetching the container's own address (direct routing) ${EXPECTED[engine].directRouting ? "gets through" : "is dropped"}`, async () => {
      const families = ipv6 ? (["ipv4", "ipv6"] as const) : (["ipv4"] as const);
      for (const family of families) {
        const body = await sb().fetchDirect(0, web(), family, EXPECTED[engine].directRouting ? 3 : DENIED_WAIT_S);
        expect({ family, body }).toEqual({ family, body: EXPECTED[engine].directRouting ? "web\n" : undefined });
      }
      summary.push(`direct routing ${EXPECTED[engine].directRouting ? "gets through" : "dropped"} (${families.join(", ")})`);
    });

    const ownIp6Jump = ipv6 && !EXPECTED[engine].ip6DockerUser;
    const order = !ipv6
      ? "FORWARD's first rule is the jump to DOCKER-USER"
      : ownIp6Jump
        ? "FORWARD's first rule is the jump to DOCKER-USER, but an IPv6 jump inserted first ends up last"
        : "FORWARD's first rule is the jump to DOCKER-USER in both families";
    test(`after restart() the container serves again and ${order}`, async () => {
      if (ownIp6Jump) {
        // No IPv6 DOCKER-USER from this engine: make one with a jump at the top of FORWARD, as a user (or this product) would.
        await sb().target.run(["ip6tables", "-N", "DOCKER-USER"]);
        await sb().target.run(["ip6tables", "-I", "FORWARD", "1", "-j", "DOCKER-USER"]);
      }
      const began = Date.now();
      await sb().daemon.restart();
      const answered = since(began);
      const again = await sb().daemon.waitForHttpd("web");
      const serving = since(began);
      const [client] = sb().clients;
      expect(await sb().fetch(0, httpUrl(client.targetV4, PUBLISHED))).toBe("web\n");
      expect(await sb().fetch(0, httpUrl(client.targetV6, PUBLISHED))).toBe("web\n");

      expect((await forwardRules(sb(), "iptables"))[0]).toBe(DOCKER_USER_JUMP);
      let ip6Order = "";
      if (ipv6) {
        const rules = await forwardRules(sb(), "ip6tables");
        const at = rules.indexOf(DOCKER_USER_JUMP);
        // Docker re-inserts its own FORWARD rules at the top when it starts: a jump it did not make ends up below them.
        expect(at).toBe(ownIp6Jump ? rules.length - 1 : 0);
        ip6Order = `, IPv6 FORWARD jump to DOCKER-USER ${at === 0 ? "first" : `moved to the end (rule ${at + 1} of ${rules.length})`}`;
      }
      const address = again.ipv4 === web().ipv4 && again.ipv6 === web().ipv6 ? "same address" : `new address ${again.ipv4}`;
      container = again;
      summary.push(`restart answers in ${answered} s, serves again in ${serving} s (${address})${ip6Order}`);
    });
  });
});

describe.each(engines.filter((engine) => engine === "29.7.2"))("Docker %s with the nftables firewall backend", (engine) => {
  let sandbox: DockerSandbox | undefined;
  const summary: string[] = [];

  beforeAll(async () => {
    const began = Date.now();
    sandbox = await DockerSandbox.start({ engine, ipv6: false, firewallBackend: "nftables", clients: 1 });
    await sandbox.daemon.runHttpd("web", `${PUBLISHED}:80`);
    summary.push(`up and serving in ${since(began)} s`);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.stop();
    console.log(`Docker ${engine}, nftables backend: ${summary.join("; ")}`);
  }, 90_000);

  function sb(): DockerSandbox {
    if (!sandbox) throw new Error("the sandbox did not start");
    return sandbox;
  }

  test("a client fetches the published page; Docker's rules are nftables tables docker-bridges, with no DOCKER-USER", async () => {
    const [client] = sb().clients;
    expect(await sb().fetch(0, httpUrl(client.targetV4, PUBLISHED))).toBe("web\n");
    expect(await sb().fetch(0, httpUrl(client.targetV6, PUBLISHED))).toBe("web\n");
    const tables = (await sb().target.run(["nft", "list", "tables"])).trim().split("\n");
    expect(tables).toEqual(expect.arrayContaining(["table ip docker-bridges", "table ip6 docker-bridges"]));
    expect(await sb().target.run(["iptables-save", "-t", "filter"])).not.toContain("DOCKER-USER");
    summary.push(`page over IPv4 and IPv6; ${tables.join(", ")}; no DOCKER-USER`);
  });
});

/** Seconds since `start` (ms since the epoch), one decimal. */
function since(start: number): string {
  return ((Date.now() - start) / 1000).toFixed(1);
}

/** The output of argv run in the root namespace with the PATH dockerd of `engine` gets. */
function programOutput(engine: DockerEngine, argv: readonly string[]): Promise<string> {
  return run(["env", `PATH=${enginePath(engine)}`, ...argv]);
}

/** The docker-proxy processes listening in T: address (e.g. `[::]:8080`) and pid, from `ss -Hltnp`. */
async function dockerProxies(sandbox: DockerSandbox): Promise<{ address: string; pid: number }[]> {
  const listening = await sandbox.target.run(["ss", "-Hltnp"]);
  return [...listening.matchAll(/^\S+\s+\d+\s+\d+\s+(\S+)\s+\S+\s+users:\(\("docker-proxy",pid=(\d+),/gm)].map((m) => ({
    address: m[1],
    pid: Number(m[2]),
  }));
}

/** FORWARD's rules in T as `iptables -S` prints them, without the policy line. */
async function forwardRules(sandbox: DockerSandbox, command: "iptables" | "ip6tables"): Promise<string[]> {
  return (await sandbox.target.run([command, "-S", "FORWARD"])).split("\n").filter((line) => line.startsWith("-A "));
}
