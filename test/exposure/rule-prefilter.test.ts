import type { Packet } from "../../provider/exposure/packet";
import { cannotMatch, ruleGuard } from "../../provider/exposure/rule-prefilter";

const client = { kind: "client" } as const;
const packet = (destinationPort: Packet["destinationPort"], protocol: "tcp" | "udp" = "tcp"): Packet => ({
  family: "ipv4",
  protocol,
  inInterface: "eth0",
  outInterface: undefined,
  source: client,
  destination: { kind: "host" },
  sourcePort: "ephemeral",
  destinationPort,
  tcpFlags: ["SYN"],
  conntrack: { state: "NEW", dnat: false, direction: "ORIGINAL", originalSource: client, originalDestination: { kind: "host" }, originalSourcePort: "ephemeral", originalDestinationPort: destinationPort, replySource: { kind: "host" }, replySourcePort: 80 },
});

describe("cannotMatch (pruning by protocol and destination port, from the text)", () => {
  it.each([
    ["-A DOCKER-USER -s 10.0.0.1/32 -p tcp -m tcp --dport 443 -j ACCEPT", packet(80), true],
    ["-A DOCKER-USER -s 10.0.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT", packet(80), false],
    ["-A DOCKER-USER -p tcp -m tcp ! --dport 80 -j DROP", packet(80), true],
    ["-A DOCKER-USER -p tcp -m tcp ! --dport 80 -j DROP", packet(81), false],
    ["-A DOCKER-USER -p tcp -m multiport --dports 22,8000:8100 -j DROP", packet(8080), false],
    ["-A DOCKER-USER -p tcp -m multiport --dports 22,443 -j DROP", packet(8080), true],
    ["-A DOCKER-USER -p udp -m udp --dport 53 -j DROP", packet(53), true],
    ["-A DOCKER-USER -p udp -m udp --dport 53 -j DROP", packet(53, "udp"), false],
    ["-A DOCKER-USER -p tcp -m tcp --dport 1024 -j DROP", packet("ephemeral"), true],
    ["-A DOCKER-USER -p tcp -m tcp --dport 40000 -j DROP", packet("ephemeral"), false],
    ['-A DOCKER-USER -m comment --comment "not --dport 443 really" -j DROP', packet(80), false],
    ["-A DOCKER-USER -p tcp -m tcp --dport http -j DROP", packet(80), false],
    ["-A DOCKER-USER -p tcp -m tcp --dport :1024 -j DROP", packet(8080), true],
    ["-A DOCKER-USER ! -p tcp -j DROP", packet(80), false],
  ])("%s, port %j", (line, p, expected) => {
    expect(cannotMatch(ruleGuard(line), p)).toBe(expected);
  });
});
