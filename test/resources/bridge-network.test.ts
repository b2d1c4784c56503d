/**
 * BridgeNetwork's validation, `docker network create` arguments, policy
 * rules and diff, without a host: `check` and `diff` never touch one (the
 * host factory here fails the test if anything reaches it).
 */
import { bridgeNetworkSchema, bridgePolicyRules, createArguments, type CheckedBridgeNetworkArgs } from "../../provider/resources/bridge-network";
import { bridgeNetwork } from "../../provider/resources/bridge-network-resource";
import { nftRules } from "../../provider/nft-plan";
import { closeAllSessions, setHostFactory } from "../../provider/sessions";
import { UNKNOWN } from "../../provider/schema/validate";

const OWNER = "p/s/network/backend";
let reached = 0;

beforeAll(() => {
  setHostFactory(() => {
    reached += 1;
    throw new Error("a host was reached");
  });
});
afterAll(async () => {
  setHostFactory();
  await closeAllSessions();
});
afterEach(() => expect(reached).toBe(0));

const base = { __owner: OWNER, networkName: "backend" };
const checked = (more: Record<string, unknown>): CheckedBridgeNetworkArgs => bridgeNetworkSchema.parse({ ...base, ...more });

describe("BridgeNetwork check", () => {
  it("accepts the issue's example", async () => {
    const { failures } = await bridgeNetwork.check({}, { ...base, subnet: "192.0.2.0/24", bridgeName: "br-backend", hostBindingIpv4: "127.0.0.1", icc: false, masquerade: true, internal: false, allowOutboundTo: ["198.51.100.10/32"] });
    expect(failures).toEqual([]);
  });

  it("refuses a 16-character bridge name, a subnet with host bits and an unknown key, all at once, with their paths", async () => {
    const { failures } = await bridgeNetwork.check({}, { ...base, bridgeName: "br-0123456789abc", subnet: "192.0.2.1/24", allowOutbound: ["198.51.100.10"] });
    expect(failures).toEqual([
      { property: "subnet", reason: '"192.0.2.1/24" has host bits set; did you mean "192.0.2.0/24"?' },
      { property: "bridgeName", reason: "a bridge name is at most 15 characters (Linux's limit for interface names)" },
      { property: "allowOutbound", reason: 'unknown property "allowOutbound"; did you mean "allowOutboundTo"?' },
    ]);
  });

  it("refuses other bad values with clear reasons", async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ networkName: "-x" }, "networkName", /starts with a letter or digit/],
      [{ subnet: "2001:db8::/64" }, "subnet", /not an IPv4 network/],
      [{ subnet: "192.0.2.7" }, "subnet", /one address; give a network/],
      [{ gateway: "192.0.2.1" }, "gateway", /needs subnet/],
      [{ subnetV6: "2001:db8:1::/64" }, "subnetV6", /needs ipv6: true/],
      [{ allowOutboundTo: ["2001:db8::1"] }, "allowOutboundTo[0]", /IPv6 and the network has no IPv6/],
      [{ allowInboundFrom: ["!10.0.0.0/8"] }, "allowInboundFrom[0]", /without '!'/],
      [{ mtu: 10 }, "mtu", /68/],
      [{ bridgeName: "br x" }, "bridgeName", /only letters/],
    ];
    for (const [more, property, reason] of cases) {
      const { failures } = await bridgeNetwork.check({}, { ...base, ...more });
      expect(failures).toEqual([{ property, reason: expect.stringMatching(reason) }]);
    }
  });

  it("leaves values not yet known to the next check", async () => {
    expect((await bridgeNetwork.check({}, { ...base, subnet: UNKNOWN })).failures).toEqual([]);
  });
});

describe("BridgeNetwork's docker network create arguments", () => {
  it("are an argv with every option, labels sorted and the name last", () => {
    const args = checked({ subnet: "192.0.2.0/24", gateway: "192.0.2.1", ipRange: "192.0.2.128/25", bridgeName: "br-backend", hostBindingIpv4: "127.0.0.1", icc: false, masquerade: true, internal: true, mtu: 1400, ipv6: true, subnetV6: "2001:db8:1::/64", labels: { z: "last; rm -rf /", a: "first" } });
    expect(createArguments(args)).toEqual([
      "--driver", "bridge",
      "--subnet", "192.0.2.0/24", "--gateway", "192.0.2.1", "--ip-range", "192.0.2.128/25",
      "--ipv6", "--subnet", "2001:db8:1::/64", "--internal",
      "-o", "com.docker.network.bridge.name=br-backend",
      "-o", "com.docker.network.bridge.host_binding_ipv4=127.0.0.1",
      "-o", "com.docker.network.bridge.enable_icc=false",
      "-o", "com.docker.network.bridge.enable_ip_masquerade=true",
      "-o", "com.docker.network.driver.mtu=1400",
      "--label", "a=first", "--label", "z=last; rm -rf /",
      "backend",
    ]);
  });
});

describe("BridgeNetwork's policy rules", () => {
  it("outbound: replies, each allowed destination, then DROP, keyed on -i BR ! -o BR; IPv4 only without ipv6", () => {
    const rules = bridgePolicyRules(checked({ allowOutboundTo: ["198.51.100.10/32"] }), "br-backend");
    expect(rules.ipv6).toEqual([]);
    expect(rules.ipv4.map((r) => r.text)).toEqual([
      `-A DOCKER-USER -i br-backend ! -o br-backend -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "pdf:${OWNER}:500:0 outbound replies" -j RETURN`,
      `-A DOCKER-USER -d 198.51.100.10/32 -i br-backend ! -o br-backend -m comment --comment "pdf:${OWNER}:500:1 outbound allowed" -j RETURN`,
      `-A DOCKER-USER -i br-backend ! -o br-backend -m comment --comment "pdf:${OWNER}:500:2 outbound others" -j DROP`,
    ]);
  });

  it("inbound: keyed on -o BR ! -i BR; with ipv6, both families, each address in its own", () => {
    const rules = bridgePolicyRules(checked({ ipv6: true, allowInboundFrom: ["203.0.113.0/24", "2001:db8:5::/48"] }), "br-x");
    expect(rules.ipv4.map((r) => r.text)).toEqual([
      `-A DOCKER-USER ! -i br-x -o br-x -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "pdf:${OWNER}:500:0 inbound replies" -j RETURN`,
      `-A DOCKER-USER -s 203.0.113.0/24 ! -i br-x -o br-x -m comment --comment "pdf:${OWNER}:500:1 inbound allowed" -j RETURN`,
      `-A DOCKER-USER ! -i br-x -o br-x -m comment --comment "pdf:${OWNER}:500:3 inbound others" -j DROP`,
    ]);
    expect(rules.ipv6.map((r) => r.text)).toEqual([
      `-A DOCKER-USER ! -i br-x -o br-x -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "pdf:${OWNER}:500:0 inbound replies" -j RETURN`,
      `-A DOCKER-USER -s 2001:db8:5::/48 ! -i br-x -o br-x -m comment --comment "pdf:${OWNER}:500:2 inbound allowed" -j RETURN`,
      `-A DOCKER-USER ! -i br-x -o br-x -m comment --comment "pdf:${OWNER}:500:3 inbound others" -j DROP`,
    ]);
  });

  it("none without a policy", () => {
    expect(bridgePolicyRules(checked({}), "br-x")).toEqual({ ipv4: [], ipv6: [] });
  });

  it("on Docker's nftables backend, the same policy in our forward chain, as nft prints it", () => {
    const rules = bridgePolicyRules(checked({ ipv6: true, allowOutboundTo: ["198.51.100.10/32"], allowInboundFrom: ["2001:db8:5::/48"] }), "br-x");
    expect(nftRules(rules.ipv4, "ipv4").map((r) => r.text)).toEqual([
      `iifname "br-x" oifname != "br-x" ct state established,related return comment "pdf:${OWNER}:500:0 outbound replies"`,
      `ip daddr 198.51.100.10 iifname "br-x" oifname != "br-x" return comment "pdf:${OWNER}:500:1 outbound allowed"`,
      `iifname "br-x" oifname != "br-x" drop comment "pdf:${OWNER}:500:2 outbound others"`,
      `iifname != "br-x" oifname "br-x" ct state established,related return comment "pdf:${OWNER}:500:3 inbound replies"`,
      `iifname != "br-x" oifname "br-x" drop comment "pdf:${OWNER}:500:5 inbound others"`,
    ]);
    expect(nftRules(rules.ipv6, "ipv6").map((r) => r.text)).toContain(`ip6 saddr 2001:db8:5::/48 iifname != "br-x" oifname "br-x" return comment "pdf:${OWNER}:500:4 inbound allowed"`);
  });
});

describe("BridgeNetwork diff", () => {
  const stored = { ...base, subnet: "192.0.2.0/24", bridgeName: "br-5f3c2a1b0d9e", allowOutboundTo: ["198.51.100.10/32"], networkId: "5f3c2a1b0d9e", dockerRules: {}, drift: [], warnings: [] };

  it("a subnet change replaces, and says so", async () => {
    expect(await bridgeNetwork.diff("id", stored, { ...base, subnet: "192.0.3.0/24", allowOutboundTo: ["198.51.100.10/32"] })).toEqual({ changes: true, replaces: ["subnet"], deleteBeforeReplace: true });
  });

  it("a policy change updates in place; a bridge name left to Docker is no change", async () => {
    expect(await bridgeNetwork.diff("id", stored, { ...base, subnet: "192.0.2.0/24", allowOutboundTo: ["198.51.100.11/32"] })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await bridgeNetwork.diff("id", stored, { ...base, subnet: "192.0.2.0/24", allowOutboundTo: ["198.51.100.10/32"] })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("a subnet left to Docker is no change; icc, a label and another host replace", async () => {
    expect((await bridgeNetwork.diff("id", stored, { ...base, allowOutboundTo: ["198.51.100.10/32"] })).changes).toBe(false);
    const next = { ...base, allowOutboundTo: ["198.51.100.10/32"], icc: false, labels: { a: "b" }, connection: { host: "example.net" } };
    expect((await bridgeNetwork.diff("id", stored, next)).replaces).toEqual(["icc", "labels", "connection"]);
  });
});
