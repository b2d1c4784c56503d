import type { Rule } from "../../provider/iptables/rule";
import { NftRenderError } from "../../provider/nftables/nft-errors";
import type { NftRuleItem, NftStatement } from "../../provider/nftables/nft-json";
import { nftRuleStatements, parseNftRule, renderNftRule } from "../../provider/nftables/nft-rule";
import { buildRule } from "../../provider/resources/docker-user-rule";

const TAG = "pdf:p/s/rule/web:500:0";

/** A rule item of our forward chain holding these statements. */
function item(expr: readonly NftStatement[], comment?: string): NftRuleItem {
  return { family: "ip", table: "pulumi-docker-firewall", chain: "forward", handle: 7, ...(comment ? { comment } : {}), expr };
}

const match = (op: string, left: unknown, right: unknown): NftStatement => ({ match: { op, left, right } });

describe("renderNftRule", () => {
  it("writes matches in table order, then the verdict, then the comment", () => {
    const rule = buildRule({ action: "DROP", source: "!10.0.0.0/8", inInterface: "eth+", protocol: "tcp", destinationPort: [443, 80], ctstate: ["NEW"] }, "ipv4", TAG);
    expect(renderNftRule(rule, "ipv4")).toBe(`ip saddr != 10.0.0.0/8 iifname "eth*" tcp dport { 80, 443 } ct state new drop comment "${TAG}"`);
  });

  it("negates conntrack flags with `!` (nft 1.0.6 reads `ct status != dnat` as a whole-word compare)", () => {
    const rule = buildRule({ action: "DROP", notDnat: true, originalDirection: true, protocol: "tcp", destinationPort: 80, outInterface: "docker0" }, "ipv6", TAG);
    expect(renderNftRule(rule, "ipv6")).toBe(`oifname "docker0" tcp dport 80 ct status ! dnat ct direction original drop comment "${TAG}"`);
  });

  it("writes REJECT as nft's default reject in both families, and keeps `meta l4proto` without a port", () => {
    expect(renderNftRule(buildRule({ action: "REJECT", protocol: "udp", originalDestinationPort: "53:54" }, "ipv4", TAG), "ipv4")).toBe(
      `meta l4proto udp ct original proto-dst 53-54 ct direction original reject comment "${TAG}"`,
    );
    expect(nftRuleStatements(buildRule({ action: "REJECT" }, "ipv6", TAG), "ipv6")).toEqual([{ reject: { type: "icmpv6", expr: "port-unreachable" } }]);
  });

  it("refuses what no one nft rule expresses", () => {
    const mixed = buildRule({ action: "ACCEPT", ctstate: ["NEW", "DNAT"] }, "ipv4", TAG);
    expect(() => renderNftRule(mixed, "ipv4")).toThrow(NftRenderError);
    expect(() => renderNftRule(buildRule({ action: "ACCEPT", originalDestinationPort: 8080 }, "ipv4", TAG), "ipv4")).toThrow(/needs protocol tcp or udp/);
    expect(() => renderNftRule(buildRule({ action: "ACCEPT" }, "ipv4", `${TAG} ${"x".repeat(120)}`), "ipv4")).toThrow(/nftables allows 128/);
    const tcpReset: Rule = { chain: "DOCKER-USER", matches: {}, target: "REJECT", targetOptions: ["--reject-with", "tcp-reset"] };
    expect(() => renderNftRule(tcpReset, "ipv4")).toThrow(NftRenderError);
    expect(() => renderNftRule({ ...tcpReset, targetOptions: ["--reject-with", "icmp6-port-unreachable"] }, "ipv4")).toThrow(NftRenderError);
    expect(() => renderNftRule({ ...tcpReset, target: "toString", targetOptions: [] }, "ipv4")).toThrow(NftRenderError);
    expect(() => renderNftRule({ ...tcpReset, target: "DOCKER", targetOptions: [] }, "ipv4")).toThrow(NftRenderError);
  });
});

describe("parseNftRule", () => {
  const saddr = { payload: { protocol: "ip", field: "saddr" } };

  it("reads a rule of ours back, the protocol implied by its port match", () => {
    const rule = parseNftRule(item([match("==", saddr, { prefix: { addr: "10.0.0.0", len: 8 } }), match("==", { payload: { protocol: "tcp", field: "dport" } }, { set: [80, { range: [8000, 8010] }] }), { accept: null }], TAG), "ipv4");
    expect(rule).toEqual({
      chain: "DOCKER-USER",
      matches: {
        source: { value: "10.0.0.0/8", negated: false },
        protocol: { value: "tcp", negated: false },
        destinationPorts: { value: "80,8000:8010", negated: false },
        comment: { value: TAG, negated: false },
      },
      target: "ACCEPT",
      targetOptions: [],
    });
    expect(renderNftRule(rule!, "ipv4")).toBe(`ip saddr 10.0.0.0/8 tcp dport { 80, 8000-8010 } accept comment "${TAG}"`);
  });

  it("keeps as foreign (undefined) a rule with anything the model does not know, never guessing", () => {
    const foreign: NftStatement[][] = [
      [match("==", saddr, "10.0.0.1"), { counter: { packets: 0, bytes: 0 } }, { accept: null }],
      [{ jump: { target: "elsewhere" } }],
      [match("==", saddr, { set: ["10.0.0.1", "10.0.0.2"] }), { drop: null }],
      // the whole-word compare nft 1.0.6 makes of `ct status != dnat`: not our `! dnat`
      [match("!=", { ct: { key: "status" } }, "dnat"), { drop: null }],
      // `ct status == dnat`: the status word is exactly DNAT, not our `ct status dnat` (op "in": the bit is set)
      [match("==", { ct: { key: "status" } }, "dnat"), { drop: null }],
      [match("==", { payload: { protocol: "tcp", field: "dport" } }, 80), { reject: { type: "tcp reset" } }],
      // not in the order we write: nft would print it differently from our text
      [match("==", { meta: { key: "iifname" } }, "eth0"), match("==", saddr, "10.0.0.1"), { drop: null }],
      // `+` is a literal character in nft, not iptables' wildcard
      [match("==", { meta: { key: "iifname" } }, "eth+"), { drop: null }],
      [match("==", saddr, "2001:db8::1"), { drop: null }],
      [match("==", saddr, "10.0.0.1")],
    ];
    for (const expr of foreign) expect(parseNftRule(item(expr), "ipv4")).toBeUndefined();
  });

  it("maps our chains to the guarded chains and keeps any other chain's name", () => {
    expect(parseNftRule({ ...item([{ drop: null }]), chain: "input" }, "ipv4")?.chain).toBe("INPUT");
    expect(parseNftRule({ ...item([{ drop: null }]), chain: "mine" }, "ipv4")?.chain).toBe("mine");
  });
});
