import { OUR_JUMP } from "../../provider/chains";
import { DOCKER_JUMP } from "../../provider/docker/layout";
import { FAMILIES, type Family } from "../../provider/family";
import { HostSession, planFamily } from "../../provider/host-session";
import { backendSuffix, type Backend } from "../../provider/iptables/backend";
import { describePlan } from "../../provider/drift";
import { dockerUserRules, dockerUserRuleSchema } from "../../provider/resources/docker-user-rule";
import { publishedPortRules, publishedPortSchema } from "../../provider/resources/published-port";
import { fixtureText } from "../support/fixtures";
import { Netns } from "../support/netns";

/*
 * On real iptables in a namespace: reads create no table; a PublishedPort
 * on a host with no tables leaves none behind (nf_tables: the filter table
 * we made is dropped with our last rule); the jump to DOCKER-USER that a
 * dockerd restart left below Docker's rules is reported and put back on top.
 */

const BACKENDS: readonly Exclude<Backend, "auto">[] = ["nft", "legacy"];
const tool = (family: Family, backend: Backend, suffix = "") => `ip${family === "ipv4" ? "" : "6"}tables${backendSuffix(backend)}${suffix}`;
const save = (ns: Netns, family: Family, backend: Backend) => ns.run([tool(family, backend, "-save")]).then((t) => t.split("\n").filter((l) => l && !l.startsWith("#")).join("\n"));
const port = publishedPortSchema.parse({ __owner: "lnt/real/port/web", hostPort: 8080, allowFrom: ["192.0.2.7"] });
const rule = dockerUserRuleSchema.parse({ __owner: "lnt/real/rule/ssh", action: "DROP", protocol: "tcp", destinationPort: 22, family: "ipv6" });

async function withNamespace(body: (ns: Netns) => Promise<void>): Promise<void> {
  const ns = await Netns.create("lnt");
  try {
    await body(ns);
  } finally {
    await ns.delete();
  }
}

describe.each(BACKENDS)("leaving no trace (%s)", (backend) => {
  test("a read creates no table", async () => {
    await withNamespace(async (ns) => {
      const snapshot = await new HostSession(ns, backend).read();
      expect(snapshot.ipv4.tables).toEqual([]);
      for (const family of FAMILIES) expect(await save(ns, family, backend)).toBe("");
    });
  });

  test("a PublishedPort on a host with no tables: create guards INPUT in both families, delete removes every rule (and, on nf_tables, the tables)", async () => {
    await withNamespace(async (ns) => {
      const session = new HostSession(ns, backend);
      await session.apply({ owner: port.__owner, rules: (s) => publishedPortRules(port, s) });
      expect(await save(ns, "ipv4", backend)).toContain('-A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 8080 -m comment --comment "pdf:lnt/real/port/web:500:3" -j ACCEPT');
      expect(await save(ns, "ipv6", backend)).toContain("-A INPUT ! -i lo -p tcp -m tcp --dport 8080 -m conntrack --ctdir ORIGINAL");
      // No Docker rules: nothing is DNATed, so no DOCKER-USER rules.
      expect(await save(ns, "ipv4", backend)).not.toContain("DOCKER-USER");
      await session.apply({ owner: port.__owner, rules: { ipv4: [], ipv6: [] } });
      for (const family of FAMILIES) {
        const left = await save(ns, family, backend);
        if (backend === "nft") expect(left).toBe("");
        else expect(left).not.toContain("-A ");
      }
    });
  });
});

describe("the jump guard (nft)", () => {
  const backend = "nft";
  const docker = (family: Family) => fixtureText(`docker-20.10/ipv6-02-published-8080.${family === "ipv4" ? "v4" : "v6"}.txt`);

  test("Docker 20.10 with IPv6: DOCKER-USER and our jump go to the mangle table, out of Docker's way; a REJECT there is refused by name; delete leaves every table as it was", async () => {
    await withNamespace(async (ns) => {
      for (const family of FAMILIES) await ns.run([tool(family, backend, "-restore")], { stdin: docker(family) });
      const before = await save(ns, "ipv6", backend);
      const session = new HostSession(ns, backend);
      const change = { owner: rule.__owner, rules: dockerUserRules(rule) };
      await session.apply(change);
      const mangle = (await ns.run([tool("ipv6", backend, "-save"), "-t", "mangle"])).split("\n").filter((l) => l.startsWith("-A "));
      expect(mangle).toEqual([OUR_JUMP, change.rules.ipv6[0].text]);
      // What dockerd 20.10 does at start, its FORWARD rules inserted at the top again, leaves mangle alone.
      await ns.run([tool("ipv6", backend), "-D", "FORWARD", "-j", "DOCKER-ISOLATION-STAGE-1"]);
      await ns.run([tool("ipv6", backend), "-I", "FORWARD", "1", "-j", "DOCKER-ISOLATION-STAGE-1"]);
      expect(describePlan("ipv6", planFamily((await session.read()).ipv6, [{ owner: change.owner, rules: change.rules.ipv6 }]))).toEqual([]);
      const reject = dockerUserRuleSchema.parse({ __owner: "lnt/real/rule/reject", action: "REJECT", family: "ipv6" });
      await expect(session.apply({ owner: reject.__owner, rules: dockerUserRules(reject) })).rejects.toThrow(/ipv6: .*mangle table, where iptables has no REJECT: use DROP/);
      await session.apply({ owner: rule.__owner, rules: { ipv4: [], ipv6: [] } });
      expect(await save(ns, "ipv6", backend)).toBe(before);
    });
  });

  test("Docker \"failing open\" (its jump to DOCKER-USER gone): our rules move to the mangle table, and back once Docker's jump returns", async () => {
    await withNamespace(async (ns) => {
      for (const family of FAMILIES) await ns.run([tool(family, backend, "-restore")], { stdin: docker(family) });
      const before = await save(ns, "ipv4", backend);
      const session = new HostSession(ns, backend);
      const v4 = dockerUserRuleSchema.parse({ __owner: "lnt/real/rule/v4", action: "DROP", protocol: "tcp", destinationPort: 22, family: "ipv4" });
      const change = { owner: v4.__owner, rules: dockerUserRules(v4) };
      await session.apply(change);
      await ns.run([tool("ipv4", backend), "-D", "FORWARD", "-j", "DOCKER-USER"]);
      const moved = await session.apply(change);
      expect(moved.operations.ipv4.map((op) => `${op.table ?? "filter"} ${op.kind}`)).toEqual(["filter delete", "mangle create-chain", "mangle insert-jump", "mangle insert"]);
      await ns.run([tool("ipv4", backend), "-I", "FORWARD", "1", "-j", "DOCKER-USER"]);
      const back = await session.apply(change);
      expect(back.operations.ipv4.map((op) => `${op.table ?? "filter"} ${op.kind}`)).toEqual(["filter insert", "mangle delete", "mangle delete-jump", "mangle delete-chain", "mangle delete-table"]);
      await session.apply({ owner: v4.__owner, rules: { ipv4: [], ipv6: [] } });
      expect(await save(ns, "ipv4", backend)).toBe(before);
    });
  });

  test("Docker's own jump below another Docker rule is moved back to the top", async () => {
    await withNamespace(async (ns) => {
      for (const family of FAMILIES) await ns.run([tool(family, backend, "-restore")], { stdin: docker(family) });
      await ns.run([tool("ipv4", backend), "-D", "FORWARD", "-j", "DOCKER-USER"]);
      await ns.run([tool("ipv4", backend), "-I", "FORWARD", "2", "-j", "DOCKER-USER"]);
      const session = new HostSession(ns, backend);
      const v4 = dockerUserRuleSchema.parse({ __owner: "lnt/real/rule/v4", action: "DROP", protocol: "tcp", destinationPort: 22, family: "ipv4" });
      const result = await session.apply({ owner: v4.__owner, rules: dockerUserRules(v4) });
      expect(result.operations.ipv4.map((op) => op.kind)).toEqual(["raise-jump", "insert"]);
      const forward = (await save(ns, "ipv4", backend)).split("\n").filter((l) => l.startsWith("-A FORWARD "));
      expect(forward[0]).toBe(DOCKER_JUMP);
      expect(forward.filter((l) => l === DOCKER_JUMP)).toHaveLength(1);
    });
  });
});
