import { renderSave } from "../../provider/iptables/ruleset";
import { publishedPort } from "../../provider/resources/published-port-resource";
import { observePublishedPort, publishedPortRules, publishedPortSchema } from "../../provider/resources/published-port";
import { dockerCapture, docker2010, snapshotOf } from "../support/fixtures";

const OWNER = "p/s/port/web";
const tag = (i: number) => `-m comment --comment "pdf:${OWNER}:500:${i}"`;
const args = (extra: Record<string, unknown>) => publishedPortSchema.parse({ __owner: OWNER, allowFrom: [], hostPort: 8080, ...extra });
const texts = (rules: readonly { text: string }[]) => rules.map((r) => r.text);

describe("PublishedPort rules", () => {
  it("predicted (no host read): forward ACCEPTs and DROP in DOCKER-USER, proxy ACCEPTs and DROP in INPUT, per family", () => {
    const rules = publishedPortRules(args({ allowFrom: ["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"], inInterface: "eth0" }));
    expect(texts(rules.ipv4)).toEqual([
      `-A DOCKER-USER -s 203.0.113.7/32 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(0)} -j ACCEPT`,
      `-A DOCKER-USER -s 198.51.100.0/24 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(1)} -j ACCEPT`,
      `-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(3)} -j DROP`,
      `-A INPUT -s 203.0.113.7/32 -i eth0 -p tcp -m tcp --dport 8080 ${tag(5)} -j ACCEPT`,
      `-A INPUT -s 198.51.100.0/24 -i eth0 -p tcp -m tcp --dport 8080 ${tag(6)} -j ACCEPT`,
      `-A INPUT -i eth0 -p tcp -m tcp --dport 8080 -m conntrack --ctdir ORIGINAL ${tag(8)} -j DROP`,
    ]);
    expect(texts(rules.ipv6)).toEqual([
      `-A DOCKER-USER -s 2001:db8::/32 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(2)} -j ACCEPT`,
      `-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL ${tag(4)} -j DROP`,
      `-A INPUT -s 2001:db8::/32 -i eth0 -p tcp -m tcp --dport 8080 ${tag(7)} -j ACCEPT`,
      `-A INPUT -i eth0 -p tcp -m tcp --dport 8080 -m conntrack --ctdir ORIGINAL ${tag(9)} -j DROP`,
    ]);
  });

  it("without inInterface the proxy DROP spares loopback; an empty allowFrom only drops", () => {
    const rules = publishedPortRules(args({ hostPort: "8000:8010", protocol: "udp", family: "ipv4" }));
    expect(texts(rules.ipv4)).toEqual([
      `-A DOCKER-USER -p udp -m conntrack --ctstate DNAT --ctorigdstport 8000:8010 --ctdir ORIGINAL ${tag(0)} -j DROP`,
      `-A INPUT ! -i lo -p udp -m udp --dport 8000:8010 -m conntrack --ctdir ORIGINAL ${tag(1)} -j DROP`,
    ]);
    expect(rules.ipv6).toEqual([]);
  });

  it("20.10: guards direct access to the container's port on its bridge, last, so other rules keep their text", () => {
    const snapshot = snapshotOf(renderSave(docker2010("02-published-8080.v4.txt")), undefined);
    const rules = publishedPortRules(args({ allowFrom: ["203.0.113.7"] }), snapshot);
    expect(texts(rules.ipv4)).toEqual([
      ...texts(publishedPortRules(args({ allowFrom: ["203.0.113.7"] })).ipv4),
      `-A DOCKER-USER ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL ${tag(6)} -j DROP`,
    ]);
  });

  it("a direct-access guard stays while the container is gone, so it is there when the container comes back", () => {
    const published = snapshotOf(renderSave(docker2010("02-published-8080.v4.txt")), undefined);
    const guard = texts(publishedPortRules(args({}), published).ipv4).find((t) => t.includes("! --ctstate DNAT"))!;
    const fresh = renderSave(docker2010("01-fresh-daemon.v4.txt")).replace("-A DOCKER-USER -j RETURN", `${guard}\n-A DOCKER-USER -j RETURN`);
    expect(texts(publishedPortRules(args({}), snapshotOf(fresh, undefined)).ipv4)).toContain(guard);
    // Another owner's guard is not ours to keep.
    expect(texts(publishedPortRules(args({ __owner: "p/s/port/other" }), snapshotOf(fresh, undefined)).ipv4).some((t) => t.includes("! --ctstate DNAT"))).toBe(false);
  });

  it("26 default: no forward rules where Docker writes no ip6tables rules, the proxy guard stays", () => {
    const snapshot = dockerCapture("docker-26.1.5/default", "02-published-8080_80.txt");
    const rules = publishedPortRules(args({}), snapshot);
    expect(texts(rules.ipv6)).toEqual([`-A INPUT ! -i lo -p tcp -m tcp --dport 8080 -m conntrack --ctdir ORIGINAL ${tag(3)} -j DROP`]);
    expect(texts(rules.ipv4).filter((t) => t.includes("! --ctstate DNAT"))).toHaveLength(1);
  });

  it("28: no direct guard, Docker drops direct access in the raw table itself", () => {
    const snapshot = dockerCapture("docker-28.5.2/default", "02-published-8080_80.txt");
    expect(texts(publishedPortRules(args({}), snapshot).ipv4).filter((t) => t.includes("! --ctstate DNAT"))).toEqual([]);
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
  it("20.10: DNAT on every address, direct access open, nothing guarded yet: every served path is drift", () => {
    const snapshot = snapshotOf(renderSave(docker2010("02-published-8080.v4.txt")), undefined);
    const { outputs, drift } = observePublishedPort(args({}), snapshot);
    expect(outputs).toMatchObject({ published: true, bindAddresses: ["0.0.0.0"], targets: ["172.17.0.2:80"], guardedPaths: { ipv4: [], ipv6: [] } });
    expect(outputs.served).toEqual([
      { family: "ipv4", path: "forward", address: "0.0.0.0", port: "8080", by: "172.17.0.2:80" },
      { family: "ipv4", path: "direct", address: "172.17.0.2", port: "80", by: "172.17.0.2:80" },
    ]);
    expect(drift).toEqual(["ipv4: port 8080 is served on the forward path but not guarded", "ipv4: port 8080 is served on the direct path but not guarded"]);
  });

  it("28 default: docker-proxy serves [::]:8080, which is the proxy path; bindAddresses says so", () => {
    const snapshot = dockerCapture("docker-28.5.2/default", "02-published-8080_80.txt");
    const { outputs, drift } = observePublishedPort(args({ family: "ipv4" }), snapshot);
    expect(outputs.bindAddresses).toEqual(["0.0.0.0", "::"]);
    expect(outputs.served).toContainEqual({ family: "ipv6", path: "proxy", address: "::", port: "8080", by: "docker-proxy" });
    expect(drift).toContain("ipv6: port 8080 is served on the proxy path but not guarded (the resource's DROP covers ipv4 only)");
  });

  it("28 with iptables false: warns that IPv4 is guarded only where the host serves it itself", () => {
    const snapshot = dockerCapture("docker-28.5.2/iptables-false", "02-published-8080_80.txt");
    const { outputs } = observePublishedPort(args({}), snapshot);
    expect(outputs.warnings).toEqual([expect.stringMatching(/^ipv4: Docker writes no iptables rules on this host/)]);
    expect(outputs.published).toBe(true);
  });

  it("20.10 with ip6tables: warns that a restart puts Docker's rules above our jump", () => {
    const snapshot = snapshotOf(renderSave(docker2010("ipv6-02-published-8080.v4.txt")), renderSave(docker2010("ipv6-02-published-8080.v6.txt")));
    const { outputs } = observePublishedPort(args({}), snapshot);
    expect(outputs.warnings).toEqual([expect.stringMatching(/^ipv6: Docker does not jump to DOCKER-USER in this family/)]);
    expect(outputs.targets).toEqual(["172.17.0.2:80", "[2001:db8:dd::242:ac11:2]:80"]);
  });

  it("a port nothing serves: published false, a warning, no drift", () => {
    const snapshot = snapshotOf(renderSave(docker2010("02-published-8080.v4.txt")), undefined);
    const { outputs, drift } = observePublishedPort(args({ hostPort: 9999 }), snapshot);
    expect(outputs).toMatchObject({ published: false, bindAddresses: [], targets: [], served: [] });
    expect(outputs.warnings).toContain("nothing serves port 9999/tcp now: the guards are in place for when something does");
    expect(drift).toEqual([]);
  });
});
