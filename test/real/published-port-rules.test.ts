import { FAMILIES } from "../../provider/family";
import { backendSuffix, type Backend } from "../../provider/iptables/backend";
import { chainRules, findTable, parseSave, ruleLine } from "../../provider/iptables/ruleset";
import { publishedPortRules, publishedPortSchema } from "../../provider/resources/published-port";
import { docker2010, snapshotOf } from "../support/fixtures";
import { renderSave } from "../../provider/iptables/ruleset";
import { Netns } from "../support/netns";

/*
 * What PublishedPort renders for every path (forward and direct in
 * DOCKER-USER, proxy in INPUT) is what real iptables prints back, nf_tables
 * and legacy, IPv4 and IPv6: loaded with one iptables-restore, saved again,
 * compared line for line.
 */

const BACKENDS: readonly Exclude<Backend, "auto">[] = ["nft", "legacy"];
const snapshot = snapshotOf(renderSave(docker2010("ipv6-02-published-8080.v4.txt")), renderSave(docker2010("ipv6-02-published-8080.v6.txt")));

const CASES = [
  { hostPort: 8080, allowFrom: ["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"], inInterface: "eth0" },
  { hostPort: 8080, allowFrom: [], comment: "nobody" },
  { hostPort: "8000:8010", protocol: "udp", allowFrom: ["192.0.2.1"], family: "ipv4" },
];

let ns: Netns | undefined;
beforeAll(async () => {
  ns = await Netns.create("ppr");
});
afterAll(async () => {
  await ns?.delete();
});

describe.each(BACKENDS)("PublishedPort rules read back exactly (%s)", (backend) => {
  it.each(CASES.map((c, i) => [i, c] as const))("case %i", async (_i, args) => {
    const rules = publishedPortRules(publishedPortSchema.parse({ __owner: "p/s/port/web", ...args }), snapshot);
    for (const family of FAMILIES) {
      const tool = `ip${family === "ipv4" ? "" : "6"}tables${backendSuffix(backend)}`;
      const lines = rules[family].map((r) => r.text);
      const input = ["*filter", ":DOCKER-USER - [0:0]", "-F INPUT", ...lines, "COMMIT", ""].join("\n");
      await ns!.run([`${tool}-restore`, "--noflush"], { stdin: input });
      const saved = findTable(parseSave(await ns!.run([`${tool}-save`, "-t", "filter"])), "filter");
      const back = ["DOCKER-USER", "INPUT"].flatMap((chain) => chainRules(saved, chain).map(ruleLine));
      expect(back).toEqual([...lines.filter((l) => l.startsWith("-A DOCKER-USER ")), ...lines.filter((l) => l.startsWith("-A INPUT "))]);
      await ns!.run([`${tool}-restore`], { stdin: "*filter\nCOMMIT\n" });
    }
  });
});
