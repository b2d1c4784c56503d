import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSave } from "../../provider/iptables/ruleset";
import { publishedPort } from "../../provider/resources/published-port-resource";
import { observePublishedPort, publishedPortRules, publishedPortSchema } from "../../provider/resources/published-port";

const fixture = (name: string) => parseSave(readFileSync(join(__dirname, "../fixtures/docker-20.10", name), "utf8"));
const OWNER = "p/s/port/web";

describe("PublishedPort rules", () => {
  it("accepts each allowed source on the host port, then drops other connections Docker translated to it, in both families", () => {
    const rules = publishedPortRules(publishedPortSchema.parse({ __owner: OWNER, hostPort: 8080, allowFrom: ["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"], inInterface: "eth0" }));
    const tag = (i: number) => `-m comment --comment "pdf:${OWNER}:500:${i}"`;
    expect(rules.ipv4.map((r) => r.text)).toEqual([
      `-A DOCKER-USER -s 203.0.113.7/32 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(0)} -j ACCEPT`,
      `-A DOCKER-USER -s 198.51.100.0/24 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(1)} -j ACCEPT`,
      `-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(3)} -j DROP`,
    ]);
    expect(rules.ipv6.map((r) => r.text)).toEqual([
      `-A DOCKER-USER -s 2001:db8::/32 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(2)} -j ACCEPT`,
      `-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(3)} -j DROP`,
    ]);
  });

  it("with an empty allowFrom, only drops", () => {
    const rules = publishedPortRules(publishedPortSchema.parse({ __owner: OWNER, hostPort: "8000:8010", protocol: "udp", allowFrom: [] }));
    expect(rules.ipv4.map((r) => r.text)).toEqual([`-A DOCKER-USER -p udp -m conntrack --ctstate DNAT --ctorigdstport 8000:8010 --ctdir ORIGINAL -m comment --comment "pdf:${OWNER}:500:0" -j DROP`]);
  });

  it("rejects negated and malformed sources with their index", async () => {
    const { failures } = await publishedPort.check({}, { __owner: OWNER, hostPort: 0, allowFrom: ["!10.0.0.0/8", "10.0.0.0/33"] });
    expect(failures.map((f) => f.property).sort()).toEqual(["allowFrom[0]", "allowFrom[1]", "hostPort"]);
  });
});

describe("PublishedPort check", () => {
  const base = { __owner: OWNER, hostPort: 8080, allowFrom: ["203.0.113.7"] };
  const failures = async (news: Record<string, unknown>) => (await publishedPort.check({}, { ...base, ...news })).failures;

  it("refuses a misspelled key, naming the key it most likely meant, instead of dropping it", async () => {
    const { allowFrom, ...rest } = base;
    expect((await publishedPort.check({}, { ...rest, allowfrom: allowFrom })).failures).toEqual([
      { property: "allowFrom", reason: expect.stringMatching(/expected array/) },
      { property: "allowfrom", reason: 'unknown property "allowfrom"; did you mean "allowFrom"?' },
    ]);
    expect(await failures({ inInterfce: "eth0", hostport: 80 })).toEqual([
      { property: "inInterfce", reason: 'unknown property "inInterfce"; did you mean "inInterface"?' },
      { property: "hostport", reason: 'unknown property "hostport"; did you mean "hostPort"?' },
    ]);
  });

  it("refuses a DockerUserRule key it does not have", async () => {
    expect(await failures({ sourceRange: "192.0.2.1-192.0.2.9" })).toEqual([{ property: "sourceRange", reason: 'unknown property "sourceRange"' }]);
  });

  it("lets through the provider's code and every output that comes back as an input", async () => {
    const outputs = { ruleText: { ipv4: "stale" }, drift: [], published: true, bindAddresses: ["0.0.0.0"], targets: ["172.17.0.2:80"] };
    expect(await failures({ __provider: "exports.handler = …", ...outputs })).toEqual([]);
  });

  it("refuses a network with host bits set in allowFrom, naming the network", async () => {
    expect(await failures({ allowFrom: ["203.0.113.7", "198.51.100.1/24"] })).toEqual([
      { property: "allowFrom[1]", reason: '"198.51.100.1/24" has host bits set; did you mean "198.51.100.0/24"?' },
    ]);
  });

  it("refuses an oversized allowFrom as one failure, without looking at each entry", async () => {
    expect(await failures({ allowFrom: Array(100_000).fill("not an address") })).toEqual([{ property: "allowFrom", reason: "at most 200 addresses in allowFrom" }]);
    expect(await failures({ allowFrom: Array.from({ length: 200 }, (_, i) => `10.0.${i}.0/24`) })).toEqual([]);
  });

  it("refuses an interface name iptables would read as an option, and a 100 kB comment", async () => {
    expect(await failures({ inInterface: "--comment", comment: "x".repeat(100_000) })).toEqual([
      { property: "inInterface", reason: 'interface name "--comment" must not start with "-": iptables would read it as an option' },
      { property: "comment", reason: "a comment is at most 128 characters" },
    ]);
  });
});

describe("observePublishedPort", () => {
  it("reads Docker's DNAT: every-address publish and container target", () => {
    const snapshot = { ipv4: fixture("02-published-8080.v4.txt"), ipv6: parseSave("") };
    const args = publishedPortSchema.parse({ __owner: OWNER, hostPort: 8080, allowFrom: [] });
    expect(observePublishedPort(args, snapshot)).toEqual({ published: true, bindAddresses: ["0.0.0.0"], targets: ["172.17.0.2:80"] });
  });

  it("reads a loopback-bound publish, a udp one, and one that does not exist", () => {
    const snapshot = { ipv4: fixture("04-user-bridge-icc-off-binding.v4.txt"), ipv6: parseSave("") };
    const observe = (hostPort: number, protocol: "tcp" | "udp" = "tcp") => observePublishedPort(publishedPortSchema.parse({ __owner: OWNER, hostPort, protocol, allowFrom: [] }), snapshot);
    expect(observe(9000)).toEqual({ published: true, bindAddresses: ["127.0.0.1"], targets: ["192.0.2.2:80"] });
    expect(observe(5353, "udp")).toEqual({ published: true, bindAddresses: ["0.0.0.0"], targets: ["172.17.0.4:53"] });
    expect(observe(5353)).toEqual({ published: false, bindAddresses: [], targets: [] });
  });

  it("reads IPv6 publishes", () => {
    const snapshot = { ipv4: fixture("ipv6-02-published-8080.v4.txt"), ipv6: fixture("ipv6-02-published-8080.v6.txt") };
    const args = publishedPortSchema.parse({ __owner: OWNER, hostPort: 8080, allowFrom: [] });
    expect(observePublishedPort(args, snapshot).targets).toEqual(["172.17.0.2:80", "[2001:db8:dd::242:ac11:2]:80"]);
    expect(observePublishedPort(args, snapshot).bindAddresses).toEqual(["0.0.0.0", "::"]);
  });
});
