import { dockerUserRule } from "../../provider/resources/docker-user-rule-resource";
import { dockerUserRules, dockerUserRuleSchema, familiesOf, observeDockerUserRule } from "../../provider/resources/docker-user-rule";
import { dockerCapture } from "../support/fixtures";
import { UNKNOWN } from "../../provider/schema/validate";

const OWNER = "quickstart/dev/rule/office-only-8080";
const base = { __owner: OWNER, action: "DROP" };

async function failures(news: Record<string, unknown>) {
  return (await dockerUserRule.check({}, { ...base, ...news })).failures;
}

describe("DockerUserRule check", () => {
  it("accepts the README example and adds the rule text it will write", async () => {
    const { inputs, failures } = await dockerUserRule.check({}, {
      ...base,
      priority: 100,
      inInterface: "eth0",
      protocol: "tcp",
      originalDestinationPort: 8080,
      source: "!192.168.0.0/24",
      comment: "only the office may reach 8080",
    });
    expect(failures).toEqual([]);
    expect(inputs.ruleText).toEqual({
      ipv4: '-A DOCKER-USER ! -s 192.168.0.0/24 -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -m comment --comment "pdf:quickstart/dev/rule/office-only-8080:100:0 only the office may reach 8080" -j DROP',
    });
  });

  it("reports every bad field at once, each with its property path", async () => {
    const result = await failures({
      source: "10.0.0.300/8",
      destinationPort: [80, 0],
      originalDestinationPort: 70000,
      inInterface: "sixteen-chars-xx",
      outInterface: "eth0; reboot",
      comment: 'say "hi"\nthere',
      protocol: "tcp",
      priority: 1000,
    });
    expect(result.map((f) => f.property).sort()).toEqual(
      ["comment", "destinationPort[1]", "inInterface", "originalDestinationPort", "outInterface", "priority", "source"].sort(),
    );
    expect(result.find((f) => f.property === "inInterface")!.reason).toMatch(/1–15 characters/);
    expect(result.find((f) => f.property === "source")!.reason).toMatch(/10\.0\.0\.300\/8/);
  });

  it.each([
    ["source", "$(reboot)"],
    ["destination", "`id`"],
    ["sourceRange", "10.0.0.1-10.0.0.2;rm"],
    ["inInterface", "eth0|x"],
    ["outInterface", "a&b"],
    ["originalSource", "1.2.3.4 && true"],
    ["comment", "hi; rm -rf /"],
    ["comment", "back\\slash"],
    ["comment", "it's"],
  ])("rejects shell metacharacters in %s (%j)", async (field, value) => {
    expect((await failures({ [field]: value })).map((f) => f.property)).toEqual([field]);
  });

  it("rejects a port on a rule without tcp or udp", async () => {
    expect(await failures({ destinationPort: 80 })).toEqual([{ property: "destinationPort", reason: 'destinationPort needs protocol "tcp" or "udp"' }]);
  });

  it("rejects a mix of IPv4 and IPv6 addresses, and a family that contradicts them", async () => {
    expect((await failures({ source: "10.0.0.0/8", destination: "2001:db8::1" }))[0].property).toBe("family");
    expect((await failures({ source: "10.0.0.0/8", family: "ipv6" }))[0].reason).toMatch(/contradicts/);
  });

  it("paths nested connection fields and rejects unknown connection keys", async () => {
    const result = await failures({ connection: { host: "bad host!", port: 0, proxy: { host: "x" } } });
    expect(result.map((f) => f.property).sort()).toEqual(["connection.host", "connection.port", "connection.proxy"]);
  });

  it("does not fail on values that are unknown during preview", async () => {
    const { failures: f, inputs } = await dockerUserRule.check({}, { ...base, source: UNKNOWN, priority: UNKNOWN });
    expect(f).toEqual([]);
    expect(inputs.ruleText).toBeUndefined();
  });

  it("refuses a comment that does not fit in iptables' 255 characters with the tag", async () => {
    const owner = `${"p".repeat(60)}/${"s".repeat(60)}/rule/${"n".repeat(60)}`;
    const result = (await dockerUserRule.check({}, { ...base, __owner: owner, comment: "c".repeat(100) })).failures;
    expect(result).toEqual([{ property: "comment", reason: expect.stringMatching(/255/) }]);
  });
});

describe("DockerUserRule check: unknown keys", () => {
  it("refuses a misspelled key, naming the key it most likely meant, instead of dropping it", async () => {
    const { failures: f, inputs } = await dockerUserRule.check({}, { ...base, action: "ACCEPT", sourc: "10.0.0.0/8" });
    expect(f).toEqual([{ property: "sourc", reason: 'unknown property "sourc"; did you mean "source"?' }]);
    expect(inputs.ruleText).toBeUndefined();
  });

  it("reports each unknown key as its own failure, next to every other problem", async () => {
    const result = await failures({ Action: "DROP", protcol: "tcp", bogus: 1, priority: 1000, in_interface: "eth0" });
    expect(result).toEqual(
      expect.arrayContaining([
        { property: "Action", reason: 'unknown property "Action"; did you mean "action"?' },
        { property: "protcol", reason: 'unknown property "protcol"; did you mean "protocol"?' },
        { property: "in_interface", reason: 'unknown property "in_interface"; did you mean "inInterface"?' },
        { property: "bogus", reason: 'unknown property "bogus"' },
      ]),
    );
    expect(result.map((f) => f.property).sort()).toEqual(["Action", "bogus", "in_interface", "priority", "protcol"]);
  });

  it("names the closest connection key for a misspelled one, and never suggests the engine's own keys", async () => {
    expect(await failures({ connection: { host: "192.0.2.1", hostkey: "ssh-ed25519 AAAA" } })).toEqual([
      { property: "connection.hostkey", reason: 'unknown property "hostkey"; did you mean "hostKey"?' },
    ]);
    expect(await failures({ owner: "x" })).toEqual([{ property: "owner", reason: 'unknown property "owner"' }]);
  });

  it("lets through the keys the engine carries: the provider's code and the outputs that come back as inputs", async () => {
    const { failures: f, inputs } = await dockerUserRule.check({}, { ...base, family: "ipv4", __provider: "exports.handler = …", ruleText: { ipv4: "stale" }, drift: ["stale"] });
    expect(f).toEqual([]);
    expect(inputs.ruleText).toEqual({ ipv4: `-A DOCKER-USER -m comment --comment "pdf:${OWNER}:500:0" -j DROP` });
  });

  it("reports an unknown key during a preview too, whatever its value", async () => {
    expect(await failures({ sourc: UNKNOWN, connection: { host: UNKNOWN, bogus: true } })).toEqual([
      { property: "connection.bogus", reason: 'unknown property "bogus"' },
      { property: "sourc", reason: 'unknown property "sourc"; did you mean "source"?' },
    ]);
  });
});

describe("DockerUserRule check: addresses", () => {
  it.each([
    ["source", "10.1.2.3/8", '"10.1.2.3/8" has host bits set; did you mean "10.0.0.0/8"?'],
    ["destination", "2001:db8::1/32", '"2001:db8::1/32" has host bits set; did you mean "2001:db8::/32"?'],
    ["originalSource", "!192.168.1.1/24", '"192.168.1.1/24" has host bits set; did you mean "192.168.1.0/24"?'],
    ["originalDestination", "203.0.113.9/0", '"203.0.113.9/0" has host bits set; did you mean "0.0.0.0/0"?'],
  ])("refuses %s %j, a network with host bits set, naming the network instead of changing it", async (field, value, reason) => {
    expect(await failures({ [field]: value })).toEqual([{ property: field, reason }]);
  });

  it("keeps plain addresses, host prefixes, networks and ranges as they are", async () => {
    const { failures: f, inputs } = await dockerUserRule.check({}, {
      ...base,
      source: "192.0.2.7",
      destination: "172.17.0.2/32",
      originalSource: "10.0.0.0/8",
      sourceRange: "192.0.2.10-192.0.2.20",
    });
    expect(f).toEqual([]);
    expect((inputs.ruleText as { ipv4: string }).ipv4).toContain("-s 192.0.2.7/32 -d 172.17.0.2/32 -m iprange --src-range 192.0.2.10-192.0.2.20 -m conntrack --ctorigsrc 10.0.0.0/8 ");
  });
});

describe("DockerUserRule check: interface names", () => {
  it.each([
    ["--comment", 'interface name "--comment" must not start with "-": iptables would read it as an option'],
    ["!-i", 'interface name "-i" must not start with "-": iptables would read it as an option'],
    [".", 'interface name "." is not allowed: the kernel reserves "." and ".."'],
    ["..", 'interface name ".." is not allowed: the kernel reserves "." and ".."'],
    ["eth+0", 'interface name "eth+0" may have "+" only at the end, as a wildcard'],
    ["eth0++", 'interface name "eth0++" may have "+" only at the end, as a wildcard'],
    ["+", 'interface name "+" matches every interface: leave the field out instead'],
    ["", 'interface name "" must be 1–15 characters long'],
    ["!", 'interface name "" must be 1–15 characters long'],
    ["sixteen-chars-xx", 'interface name "sixteen-chars-xx" must be 1–15 characters long'],
    ["ethé", 'interface name "ethé" may contain only letters, digits, "_", "." and "-", with an optional trailing "+"'],
    ["eth0:1", 'interface name "eth0:1" may contain only letters, digits, "_", "." and "-", with an optional trailing "+"'],
    ["br/0", 'interface name "br/0" may contain only letters, digits, "_", "." and "-", with an optional trailing "+"'],
    ["eth 0", 'interface name "eth 0" may contain only letters, digits, "_", "." and "-", with an optional trailing "+"'],
  ])("refuses %j", async (name, reason) => {
    expect(await failures({ inInterface: name })).toEqual([{ property: "inInterface", reason }]);
  });

  it("counts the kernel's limit in bytes", async () => {
    expect(await failures({ outInterface: "é".repeat(8) })).toEqual([{ property: "outInterface", reason: expect.stringMatching(/must be 1–15 characters long/) }]);
  });

  it.each(["eth0", "eth+", "veth1a2b3c4+", "br-1a2b3c4d5e6f", "!docker0", "! eth0.100", "a", "abcdefghijklmn+", "wg_0-a.b"])("accepts %j", async (name) => {
    expect(await failures({ inInterface: name, outInterface: name })).toEqual([]);
  });
});

describe("DockerUserRule check: oversized input", () => {
  const HUGE = "9".repeat(100_000);

  it("refuses more conntrack states than there are, as one failure, and a state listed twice", async () => {
    expect(await failures({ ctstate: ["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED", "SNAT", "DNAT", "NEW"] })).toEqual([
      { property: "ctstate", reason: "at most the 7 conntrack states, each once" },
    ]);
    expect(await failures({ ctstate: ["NEW", "ESTABLISHED", "NEW"] })).toEqual([{ property: "ctstate[2]", reason: '"NEW" is already in the list' }]);
    expect(await failures({ ctstate: ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"] })).toEqual([]);
  });

  it("refuses a list of 100,000 ports as one failure, without looking at each", async () => {
    expect(await failures({ protocol: "tcp", destinationPort: Array(100_000).fill(0) })).toEqual([
      { property: "destinationPort", reason: "at most 15 ports in a list (a range counts as two)" },
    ]);
  });

  it.each([
    ["source", "an address is at most 64 characters"],
    ["originalDestination", "an address is at most 64 characters"],
    ["sourceRange", "an address range is at most 100 characters"],
    ["comment", "a comment is at most 128 characters"],
  ])("refuses a 100 kB %s with one short failure", async (field, reason) => {
    expect(await failures({ [field]: HUGE })).toEqual([{ property: field, reason }]);
  });

  it.each(["inInterface", "originalDestinationPort", "destinationPort"])("quotes only the start of a 100 kB %s", async (field) => {
    const [failure, ...others] = await failures({ protocol: "tcp", [field]: HUGE });
    expect(others).toEqual([]);
    expect(failure.property).toBe(field);
    expect(failure.reason).toContain(`"${"9".repeat(40)}…"`);
    expect(failure.reason.length).toBeLessThan(120);
  });

  it.each([
    ["host", "host is at most 253 characters"],
    ["password", "password is at most 1024 characters"],
    ["privateKey", "privateKey is at most 16384 characters"],
    ["privateKeyPassword", "privateKeyPassword is at most 1024 characters"],
    ["agentSocketPath", "agentSocketPath is at most 107 characters"],
    ["hostKey", "hostKey is at most 8192 characters"],
  ])("refuses a 100 kB connection.%s with one short failure", async (field, reason) => {
    expect(await failures({ connection: { host: "192.0.2.1", [field]: HUGE } })).toEqual([{ property: `connection.${field}`, reason }]);
  });

  it("quotes only the start of a 100 kB unknown key's name", async () => {
    const [failure] = await failures({ [`x${HUGE}`]: 1 });
    expect(failure.reason).toBe(`unknown property "x${"9".repeat(39)}…"`);
  });
});

describe("families", () => {
  it.each([
    [{}, ["ipv4", "ipv6"]],
    [{ source: "10.0.0.0/8" }, ["ipv4"]],
    [{ destination: "!2001:db8::/32" }, ["ipv6"]],
    [{ protocol: "icmp" }, ["ipv4"]],
    [{ protocol: "icmpv6" }, ["ipv6"]],
    [{ family: "ipv6" }, ["ipv6"]],
  ] as const)("%j applies to %j", (args, families) => {
    expect(familiesOf({ action: "DROP", ...args })).toEqual(families);
  });
});

describe("dockerUserRules", () => {
  it("renders canonical forms: compressed IPv6, multiport lists, REJECT per family", () => {
    const rules = dockerUserRules({
      __owner: OWNER,
      action: "REJECT",
      protocol: "tcp",
      destinationPort: [443, "8000:8010", "80:80"],
      ctstate: ["ESTABLISHED", "NEW"],
      family: "both",
    });
    expect(rules.ipv4[0].text).toBe(
      `-A DOCKER-USER -p tcp -m multiport --dports 443,8000:8010,80 -m conntrack --ctstate NEW,ESTABLISHED -m comment --comment "pdf:${OWNER}:500:0" -j REJECT --reject-with icmp-port-unreachable`,
    );
    expect(rules.ipv6[0].text).toMatch(/--reject-with icmp6-port-unreachable$/);
    const [v6] = dockerUserRules({ __owner: OWNER, action: "ACCEPT", source: "2001:0DB8:0:0::1", destination: "2001:0DB8:0001:0000::/48" }).ipv6;
    expect(v6.text).toContain("-s 2001:db8::1/128 -d 2001:db8:1::/48 ");
  });

  it("prints a host address with /32 in -s and without it in conntrack", () => {
    const [rule] = dockerUserRules({ __owner: OWNER, action: "ACCEPT", source: "192.0.2.7", originalSource: "192.0.2.7", originalDestination: "10.0.0.0/8" }).ipv4;
    expect(rule.text).toContain("-s 192.0.2.7/32 ");
    expect(rule.text).toContain("--ctorigsrc 192.0.2.7 --ctorigdst 10.0.0.0/8 --ctdir ORIGINAL");
  });
});

describe("DockerUserRule warnings", () => {
  const args = (extra: Record<string, unknown>) => dockerUserRuleSchema.parse({ __owner: "p/s/rule/r", action: "DROP", ...extra });

  it("28 default: docker-proxy alone serves [::]:8080, which an IPv6 rule never sees; IPv4's DNAT beside it is no warning", () => {
    const snapshot = dockerCapture("docker-28.5.2/default", "02-published-8080_80.txt");
    expect(observeDockerUserRule(args({}), snapshot).outputs.warnings).toEqual([
      "ipv6: docker-proxy serves [::]:8080/tcp: those connections reach the host through INPUT and never pass DOCKER-USER; a PublishedPort guards every path to a port",
    ]);
    expect(observeDockerUserRule(args({ family: "ipv4" }), snapshot).outputs.warnings).toEqual([]);
  });

  it("26 default: no ip6tables rules of Docker's at all", () => {
    const snapshot = dockerCapture("docker-26.1.5/default", "02-published-8080_80.txt");
    expect(observeDockerUserRule(args({ family: "ipv6" }), snapshot).outputs.warnings).toEqual([
      expect.stringMatching(/^ipv6: Docker writes no ip6tables rules on this host/),
      expect.stringMatching(/^ipv6: docker-proxy serves \[::\]:8080\/tcp/),
    ]);
  });
});
