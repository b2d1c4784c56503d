import type { RuleMatch } from "../../provider/resources/docker-user-rule";

/** A rule test case: user arguments, named. */
export interface RuleCase {
  readonly name: string;
  readonly args: RuleMatch;
}

const A = "ACCEPT" as const;

/** Every protocol: cases both round-trip tests run. */
export const PROTOCOL_CASES: readonly RuleCase[] = [
  { name: "protocol tcp", args: { action: A, protocol: "tcp" } },
  { name: "protocol udp", args: { action: A, protocol: "udp" } },
  { name: "protocol icmp", args: { action: A, protocol: "icmp" } },
  { name: "protocol icmpv6", args: { action: A, protocol: "icmpv6" } },
  { name: "protocol all", args: { action: A, protocol: "all" } },
];

/** Comments of every allowed kind: cases both round-trip tests run (iptables-save and nft). */
export const COMMENT_CASES: readonly RuleCase[] = [
  { name: "comment with spaces", args: { action: A, comment: "allow  the office  VPN" } },
  { name: "comment with every allowed symbol", args: { action: A, comment: "a.b,c:d/e_f+g=h@i%j#k-l" } },
  { name: "comment with leading and trailing space", args: { action: A, comment: " padded " } },
];

/** Every field at once, in each family: cases both round-trip tests run. */
export const EVERY_FIELD_CASES: readonly RuleCase[] = [
  {
    name: "every field at once, v4",
    args: {
      family: "ipv4", priority: 10, action: "REJECT",
      source: "10.0.0.0/8", destination: "172.17.0.2", sourceRange: "192.0.2.1-192.0.2.3", destinationRange: "172.17.0.2-172.17.0.9",
      inInterface: "eth+", outInterface: "docker0", protocol: "tcp", destinationPort: [80, "8000:8010"],
      originalSource: "192.0.2.0/24", originalDestination: "203.0.113.5", originalDestinationPort: 8080,
      ctstate: ["NEW", "INVALID"], comment: "all fields",
    },
  },
  {
    name: "every field at once, v6, everything negatable negated",
    args: {
      family: "ipv6", priority: 999, action: "DROP",
      source: "!2001:DB8::/64", destination: "!2001:db8:dd::242:ac11:2", sourceRange: "!2001:db8::1-2001:db8::3", destinationRange: "!2001:db8:dd::2-2001:db8:dd::9",
      inInterface: "!eth0", outInterface: "!br-+", protocol: "udp", destinationPort: "53",
      originalSource: "!2001:db8::/32", originalDestination: "!2001:db8:ffff::1", originalDestinationPort: "5000:5010",
      ctstate: ["RELATED", "ESTABLISHED"], comment: "v6 all fields negated",
    },
  },
];
