import { FAMILIES } from "../../provider/family";
import { HostSession, driftOf } from "../../provider/host-session";
import type { ExecOptions, ExecResult, Host } from "../../provider/host/host";
import { dockerUserRules, dockerUserRuleSchema } from "../../provider/resources/docker-user-rule";
import { fixtureText } from "../support/fixtures";
import { Netns } from "../support/netns";

/*
 * The session on real nft in a namespace holding Docker 29.7.2's nftables
 * tables (the real capture, loaded with nft -f): rules go to our own
 * tables, Docker's stay byte for byte, a pinned firewall moves them, the
 * last delete drops our tables, and a host whose nft cannot print JSON
 * gets an error naming what to install.
 */

const DOCKER_NFT = fixtureText("docker-29.7.2/nftables/nft-list-ruleset.txt");
const drop = dockerUserRuleSchema.parse({ __owner: "nft/real/rule/no-ssh", action: "DROP", protocol: "tcp", destinationPort: 22, comment: "no ssh" });
const accept = dockerUserRuleSchema.parse({ __owner: "nft/real/rule/office", action: "ACCEPT", source: "198.51.100.0/24", priority: 10 });

/** Docker's tables (counters aside), and ours, as nft prints them. */
async function tables(ns: Netns): Promise<{ docker: string; ours: string }> {
  const list = async (family: string, table: string) => (await ns.exec(["nft", "list", "table", family, table])).stdout.replace(/ counter packets \d+ bytes \d+/g, "");
  return { docker: (await list("ip", "docker-bridges")) + (await list("ip6", "docker-bridges")), ours: (await list("ip", "pulumi-docker-firewall")) + (await list("ip6", "pulumi-docker-firewall")) };
}

async function withDockerNft(body: (ns: Netns) => Promise<void>): Promise<void> {
  const ns = await Netns.create("nfs");
  try {
    await ns.run(["nft", "-f", "-"], { stdin: DOCKER_NFT });
    await body(ns);
  } finally {
    await ns.delete();
  }
}

describe("HostSession on Docker 29's nftables backend (real nft)", () => {
  test("rules go to our own tables in both families, ordered by priority, Docker's tables untouched; the last delete drops ours", async () => {
    await withDockerNft(async (ns) => {
      const before = await tables(ns);
      const session = new HostSession(ns, "auto");
      await Promise.all([session.apply({ owner: drop.__owner, rules: dockerUserRules(drop) }), session.apply({ owner: accept.__owner, rules: dockerUserRules(accept) })]);
      const after = await tables(ns);
      expect(after.docker).toBe(before.docker);
      expect(after.ours).toMatch(/table ip pulumi-docker-firewall \{\n\tchain forward \{\n\t\ttype filter hook forward priority filter - 10; policy accept;\n\t\tip saddr 198\.51\.100\.0\/24 accept comment "pdf:nft\/real\/rule\/office:10:0"\n\t\ttcp dport 22 drop comment "pdf:nft\/real\/rule\/no-ssh:500:0 no ssh"\n/);
      expect(after.ours).toContain('table ip6 pulumi-docker-firewall {');
      // Nothing of ours in iptables.
      for (const tool of ["iptables-save", "ip6tables-save"]) expect(await ns.run([tool])).not.toContain("pdf:");
      const snapshot = await session.read();
      expect(driftOf(snapshot, { owner: drop.__owner, rules: dockerUserRules(drop) }, ns.name)).toEqual([]);

      await ns.run(["nft", "flush", "chain", "ip", "pulumi-docker-firewall", "forward"]);
      expect(driftOf(await session.read(), { owner: drop.__owner, rules: dockerUserRules(drop) }, ns.name)).toEqual(['ipv4 (nftables): missing: tcp dport 22 drop comment "pdf:nft/real/rule/no-ssh:500:0 no ssh"']);

      await Promise.all([session.apply({ owner: drop.__owner, rules: { ipv4: [], ipv6: [] } }), session.apply({ owner: accept.__owner, rules: { ipv4: [], ipv6: [] } })]);
      expect(await tables(ns)).toEqual({ docker: before.docker, ours: "" });
    });
  });

  test("a pinned firewall moves the rules in one transaction, and auto moves them back", async () => {
    await withDockerNft(async (ns) => {
      const session = new HostSession(ns, "auto");
      await session.apply({ owner: drop.__owner, rules: dockerUserRules(drop) });
      await session.apply({ owner: drop.__owner, firewall: "iptables", rules: dockerUserRules(drop) });
      expect((await tables(ns)).ours).toBe("");
      expect(await ns.run(["iptables-save"])).toContain('-A DOCKER-USER -p tcp -m tcp --dport 22 -m comment --comment "pdf:nft/real/rule/no-ssh:500:0 no ssh" -j DROP');
      await session.apply({ owner: drop.__owner, rules: dockerUserRules(drop) });
      expect((await tables(ns)).ours).toContain("tcp dport 22 drop");
      expect(await ns.run(["iptables-save"])).not.toContain("pdf:");
      await session.apply({ owner: drop.__owner, rules: { ipv4: [], ipv6: [] } });
      expect((await tables(ns)).ours).toBe("");
    });
  });

  test("a rule nftables cannot express is refused by itself, naming the rule; the others land", async () => {
    await withDockerNft(async (ns) => {
      const session = new HostSession(ns, "auto");
      const mixed = dockerUserRuleSchema.parse({ __owner: "nft/real/rule/mixed", action: "DROP", ctstate: ["NEW", "DNAT"] });
      const results = await Promise.allSettled([session.apply({ owner: mixed.__owner, rules: dockerUserRules(mixed) }), session.apply({ owner: drop.__owner, rules: dockerUserRules(drop) })]);
      expect(results[0]).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/cannot be written in nftables.*ctstate NEW,DNAT/s) } });
      expect(results[1].status).toBe("fulfilled");
    });
  });

  test("nft that cannot print JSON: a clear error naming what to install, and nothing changed", async () => {
    await withDockerNft(async (ns) => {
      const noJson: Host = {
        name: ns.name,
        // An nft that refuses -j, first on the PATH of every command.
        exec: (argv: readonly string[], options?: ExecOptions): Promise<ExecResult> =>
          ns.exec(["sh", "-c", 'd=$(mktemp -d) && printf \'#!/bin/sh\\ncase " $* " in *" -j "*) echo "Error: JSON support not compiled-in" >&2; exit 1;; esac\\nexec /usr/sbin/nft "$@"\\n\' > "$d/nft" && chmod +x "$d/nft" && PATH="$d:$PATH" "$@"; r=$?; rm -rf "$d"; exit $r', "sh", ...argv], options),
        readFile: (path) => ns.readFile(path),
        writeFile: (path, content) => ns.writeFile(path, content),
        close: async () => {},
      };
      const before = await tables(ns);
      const error = await new HostSession(noJson, "auto").apply({ owner: drop.__owner, firewall: "nftables", rules: dockerUserRules(drop) }).then(() => undefined, (e: unknown) => e);
      expect(String(error)).toMatch(/nft on this host cannot print JSON.*apt-get install nftables/);
      expect(await tables(ns)).toEqual(before);
      for (const family of FAMILIES) expect(await ns.run([family === "ipv4" ? "iptables-save" : "ip6tables-save"])).not.toContain("pdf:");
    });
  });
});
