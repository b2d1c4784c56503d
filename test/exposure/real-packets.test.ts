import { canReach } from "../../provider/exposure/can-reach";
import { exposure } from "../../provider/exposure/exposure";
import { parsePrefix } from "../../provider/exposure/address-set";
import { FAMILIES, type Family } from "../../provider/family";
import { ExposureLab, FORWARDED_PORT, PROXIED_PORT, type Probe } from "../support/exposure-lab";
import { seededRandom } from "../support/seeded-random";

/**
 * The evaluator against real packets: random DOCKER-USER and INPUT rules
 * (allowlists, negations, interfaces with wildcards, ranges, state and
 * original-direction matches, rules that drop replies) on a Docker-like host
 * in namespaces; for every client address and port, `canReach` and the
 * exposure report must say what a real connection attempt shows.
 */

/** Prefixes and ranges over the lab's client addresses (client A: …17-24 and 2001:db8:1:1::1-8; B: …33-40 and 2001:db8:1:2::1-8). */
const POOLS: Record<Family, { prefixes: string[]; ranges: string[] }> = {
  ipv4: {
    prefixes: ["198.51.100.16/28", "198.51.100.32/28", "198.51.100.16/29", "198.51.100.36/30", "198.51.100.17/32", "198.51.100.40/31", "198.51.100.0/26"],
    ranges: ["198.51.100.18-198.51.100.21", "198.51.100.35-198.51.100.38", "198.51.100.20-198.51.100.34"],
  },
  ipv6: {
    prefixes: ["2001:db8:1:1::/64", "2001:db8:1:2::/64", "2001:db8:1:1::/125", "2001:db8:1:2::4/126", "2001:db8:1:1::1/128", "2001:db8:1:2::6/127", "2001:db8:1::/48"],
    ranges: ["2001:db8:1:1::2-2001:db8:1:1::5", "2001:db8:1:2::3-2001:db8:1:2::6", "2001:db8:1:1::4-2001:db8:1:2::2"],
  },
};

/** Random rules of a family over the lab's client addresses and interfaces. */
function generateRules(next: () => number, family: Family): { dockerUser: string[]; input: string[] } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const prefix = () => pick(POOLS[family].prefixes);
  const range = () => pick(POOLS[family].ranges);
  const iface = () => pick(["-i ethA", "-i ethB", "-i eth+", "! -i ethA", "! -i eth+"]);
  const verdict = () => pick(["-j DROP", "-j RETURN", "-j ACCEPT", `-j REJECT --reject-with ${family === "ipv4" ? "icmp-port-unreachable" : "icmp6-port-unreachable"}`]);
  const userRule = (): string => {
    switch (Math.floor(next() * 8)) {
      case 0:
        return `-A DOCKER-USER -s ${prefix()} ${verdict()}`;
      case 1:
        return `-A DOCKER-USER ! -s ${prefix()} ${iface()} -m conntrack --ctstate NEW -j DROP`;
      case 2:
        return `-A DOCKER-USER ${iface()} -m conntrack --ctstate NEW ${verdict()}`;
      case 3:
        return `-A DOCKER-USER -m iprange --src-range ${range()} ${verdict()}`;
      case 4:
        return `-A DOCKER-USER -s ${prefix()} -p tcp -m multiport --dports ${pick(["80,443", "22,8080", "80"])} -j DROP`;
      case 5:
        return `-A DOCKER-USER -s ${prefix()} -m conntrack --ctorigdstport ${FORWARDED_PORT} -j ${pick(["DROP", "RETURN"])}`;
      case 6:
        // Drops the container's replies unless they are let through first.
        return `-A DOCKER-USER ! -s ${prefix()} ${iface()} -j DROP`;
      default:
        return `-A DOCKER-USER -m iprange ! --src-range ${range()} -m conntrack --ctstate NEW,DNAT -j DROP`;
    }
  };
  const inputRule = (): string =>
    pick([
      `-A INPUT -s ${prefix()} -p tcp -m tcp --dport ${PROXIED_PORT} -j DROP`,
      `-A INPUT ${iface()} -p tcp -m tcp --dport ${PROXIED_PORT} -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset`,
      `-A INPUT -m iprange --src-range ${range()} -j ACCEPT`,
      `-A INPUT ! -s ${prefix()} -p tcp -m multiport --dports ${PROXIED_PORT},22 -j DROP`,
    ]);
  const dockerUser = Array.from({ length: 1 + Math.floor(next() * 4) }, userRule);
  const input = Array.from({ length: Math.floor(next() * 3) }, inputRule);
  return { dockerUser, input };
}

/** Random rulesets per family. */
const ROUNDS = 6;
const SEED = Number(process.env.EXPOSURE_SEED ?? 20261202);

let lab: ExposureLab | undefined;

beforeAll(async () => {
  lab = await ExposureLab.create();
});

afterAll(async () => {
  await lab?.delete();
});

test(`canReach and exposure agree with real packets on ${ROUNDS} random rulesets per family`, async () => {
  const next = seededRandom(SEED);
  let cases = 0;
  let agreeing = 0;
  let reachable = 0;
  const disagreements: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rules = { ipv4: generateRules(next, "ipv4"), ipv6: generateRules(next, "ipv6") };
    for (const family of FAMILIES) await lab!.setRules(family, rules[family].dockerUser, rules[family].input);
    const snapshot = await lab!.read();
    const report = exposure(snapshot);
    const probes: Probe[] = lab!.clients.flatMap((client) => FAMILIES.flatMap((family) => client.sources[family].flatMap((source) => [FORWARDED_PORT, PROXIED_PORT].map((port) => ({ client, family, source, port })))));
    const real = await lab!.probe(probes);
    probes.forEach((probe, i) => {
      const answer = canReach(snapshot, { from: probe.source, inInterface: probe.client.hostInterface, to: probe.client.hostAddress[probe.family], port: probe.port });
      const reported = reportSays(report, probe);
      cases += 1;
      if (real[i]) reachable += 1;
      if (answer.reachable === real[i] && reported === real[i]) agreeing += 1;
      else disagreements.push(`round ${round} ${probe.source} on ${probe.client.hostInterface} → ${probe.port}: packets ${real[i]}, canReach ${answer.reachable} (${answer.reason}), report ${reported}\n  rules: ${[...rules[probe.family].input, ...rules[probe.family].dockerUser].join(" | ")}`);
    });
  }
  console.log(`exposure evaluator vs real packets: ${agreeing}/${cases} cases agree (${reachable} reachable, ${cases - reachable} not; IPv4 and IPv6; seed ${SEED}, ${ROUNDS} rulesets per family)`);
  expect(disagreements).toEqual([]);
});

/** What the exposure report says of a probe's source on its client's interface (the report is about the host's wildcard-bound ports, so `to` is any host address). */
function reportSays(report: ReturnType<typeof exposure>, { client, family, source, port }: Probe): boolean | null | undefined {
  const entry = report.find((e) => e.family === family && e.port === port && e.protocol === "tcp" && e.boundOn === (family === "ipv4" ? "0.0.0.0" : "::"));
  if (!entry) return false;
  const value = parsePrefix(source, family)![0].first;
  // The most specific class the interface falls in: its own name, then a `+` prefix, then any other interface.
  const labels = [null, client.hostInterface, "eth* (others)", "any other interface"];
  const label = labels.find((l) => entry.parts.some((p) => p.inInterface === l));
  const hit = entry.parts.filter((p) => p.inInterface === label).find((p) => p.sources.some((prefix) => parsePrefix(prefix, family)!.some((r) => r.first <= value && value <= r.last)));
  return hit?.reachable;
}
