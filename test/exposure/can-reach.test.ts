import { canReach, CanReachQuestionError } from "../../provider/exposure/can-reach";
import { generateBigHost } from "../../provider/testing/generate-big-host";
import { dockerCapture, fixtureText, snapshotOf } from "../support/fixtures";
import { withRules } from "../support/with-rules";

const docker28 = dockerCapture("docker-28.5.2/default", "02-published-8080_80.txt");
const dockerUser = (...lines: string[]) => withRules(docker28, "ipv4", "filter", lines);

describe("canReach on Docker 28.5.2's capture (port 8080 → 172.17.0.2:80)", () => {
  it("port 8080 is reachable from anywhere, forwarded, accepted by Docker's own rule", () => {
    expect(canReach(docker28, { from: "198.51.100.7", port: 8080 })).toMatchObject({
      reachable: true,
      path: "forward",
      decidedBy: { table: "filter", chain: "DOCKER", position: 1, text: "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT" },
    });
  });

  it("a port nothing serves is not reachable, with no path", () => {
    expect(canReach(docker28, { from: "198.51.100.7", port: 8081 })).toMatchObject({ reachable: false, path: null });
    expect(canReach(docker28, { from: "198.51.100.7", port: 8080, protocol: "udp" })).toMatchObject({ reachable: false, path: null });
  });

  it("IPv6 has no DNAT there: docker-proxy on [::]:8080 serves it, through INPUT", () => {
    expect(canReach(docker28, { from: "2001:db8::7", port: 8080 })).toMatchObject({ reachable: true, path: "proxy", decidedBy: { table: "filter", chain: "INPUT", position: 0, text: "-P INPUT ACCEPT" } });
  });

  it("from docker0 itself, nat DOCKER returns first: docker-proxy serves it", () => {
    expect(canReach(docker28, { from: "172.17.0.3", inInterface: "docker0", port: 8080 })).toMatchObject({ reachable: true, path: "proxy" });
  });

  it("a DOCKER-USER DROP blocks it, and is named", () => {
    const text = "-A DOCKER-USER -s 198.51.100.0/24 -j DROP";
    const snapshot = dockerUser(text);
    expect(canReach(snapshot, { from: "198.51.100.7", port: 8080 })).toMatchObject({ reachable: false, path: "forward", decidedBy: { table: "filter", chain: "DOCKER-USER", position: 1, text } });
    expect(canReach(snapshot, { from: "203.0.113.9", port: 8080 })).toMatchObject({ reachable: true, path: "forward" });
  });

  it("an allowlist by negation without a state match drops the replies too: nobody gets in", () => {
    const snapshot = dockerUser("-A DOCKER-USER ! -s 10.0.0.0/8 -j DROP");
    const inside = canReach(snapshot, { from: "10.1.2.3", port: 8080 });
    expect(inside).toMatchObject({ reachable: false, decidedBy: { chain: "DOCKER-USER", position: 1 } });
    expect(inside.reason).toContain("the reply is dropped");
  });

  it("the same allowlist for new connections only lets 10.0.0.0/8 in", () => {
    const snapshot = dockerUser("-A DOCKER-USER ! -s 10.0.0.0/8 -m conntrack --ctstate NEW -j DROP");
    expect(canReach(snapshot, { from: "10.1.2.3", port: 8080 }).reachable).toBe(true);
    expect(canReach(snapshot, { from: "11.0.0.1", port: 8080 })).toMatchObject({ reachable: false, decidedBy: { chain: "DOCKER-USER", position: 1 } });
  });

  it("original-direction conntrack matches see the published port and the address before DNAT", () => {
    const snapshot = dockerUser("-A DOCKER-USER -m conntrack --ctstate DNAT --ctorigdstport 8080 --ctdir ORIGINAL -j DROP");
    expect(canReach(snapshot, { from: "10.1.2.3", port: 8080 }).reachable).toBe(false);
    const byAddress = dockerUser("-A DOCKER-USER -m conntrack --ctorigdst 192.0.2.10/32 -j DROP");
    expect(canReach(byAddress, { from: "10.1.2.3", to: "192.0.2.10", port: 8080 }).reachable).toBe(false);
    expect(canReach(byAddress, { from: "10.1.2.3", to: "192.0.2.11", port: 8080 }).reachable).toBe(true);
  });

  it("interfaces, with + wildcards and negation", () => {
    const snapshot = dockerUser("-A DOCKER-USER -i eth+ -m conntrack --ctstate NEW -j DROP");
    expect(canReach(snapshot, { from: "10.1.2.3", inInterface: "eth0", port: 8080 }).reachable).toBe(false);
    expect(canReach(snapshot, { from: "10.1.2.3", inInterface: "wlan0", port: 8080 }).reachable).toBe(true);
    expect(canReach(snapshot, { from: "10.1.2.3", port: 8080 }).reachable).toBe(true);
    const negated = dockerUser("-A DOCKER-USER ! -i eth0 -o docker0 -j DROP");
    expect(canReach(negated, { from: "10.1.2.3", inInterface: "eth0", port: 8080 }).reachable).toBe(true);
    expect(canReach(negated, { from: "10.1.2.3", inInterface: "eth1", port: 8080 }).reachable).toBe(false);
  });

  it("iprange and multiport", () => {
    const range = dockerUser("-A DOCKER-USER -m iprange --src-range 198.51.100.10-198.51.100.20 -j DROP");
    expect(canReach(range, { from: "198.51.100.15", port: 8080 }).reachable).toBe(false);
    expect(canReach(range, { from: "198.51.100.21", port: 8080 }).reachable).toBe(true);
    const ports = dockerUser("-A DOCKER-USER -p tcp -m multiport --dports 22,80 -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset");
    expect(canReach(ports, { from: "198.51.100.15", port: 8080 }).reachable).toBe(false);
    const other = dockerUser("-A DOCKER-USER -p tcp -m multiport --dports 22,443 -j DROP");
    expect(canReach(other, { from: "198.51.100.15", port: 8080 }).reachable).toBe(true);
  });

  it("a match it does not understand gives null, naming the rule; unless another match of the rule rules it out", () => {
    const text = "-A DOCKER-USER -m set --match-set blocklist src -j DROP";
    expect(canReach(dockerUser(text), { from: "198.51.100.7", port: 8080 })).toMatchObject({ reachable: null, decidedBy: { chain: "DOCKER-USER", position: 1, text } });
    expect(canReach(dockerUser("-A DOCKER-USER -p udp -m set --match-set blocklist src -j DROP"), { from: "198.51.100.7", port: 8080 }).reachable).toBe(true);
    expect(canReach(dockerUser("-A DOCKER-USER -s 10.0.0.0/8 -m set --match-set blocklist src -j DROP"), { from: "198.51.100.7", port: 8080 }).reachable).toBe(true);
    expect(canReach(dockerUser("-A DOCKER-USER -j NFQUEUE --queue-num 1"), { from: "198.51.100.7", port: 8080 }).reachable).toBeNull();
  });

  it("jumps, returns and goto", () => {
    const snapshot = dockerUser("-A DOCKER-USER -s 198.51.100.0/24 -g CHECK", "-A DOCKER-USER -m conntrack --ctstate NEW -j DROP", "-A CHECK -s 198.51.100.7/32 -j RETURN", "-A CHECK -m conntrack --ctstate NEW -j DROP");
    // 198.51.100.7 returns from CHECK, which DOCKER-USER reached by goto: back in FORWARD, past the DROP.
    expect(canReach(snapshot, { from: "198.51.100.7", port: 8080 }).reachable).toBe(true);
    expect(canReach(snapshot, { from: "198.51.100.8", port: 8080 })).toMatchObject({ reachable: false, decidedBy: { chain: "CHECK", position: 2 } });
    expect(canReach(snapshot, { from: "203.0.113.1", port: 8080 })).toMatchObject({ reachable: false, decidedBy: { chain: "DOCKER-USER", position: 2 } });
  });

  it("raw PREROUTING and filter INPUT drop too; INPUT guards the docker-proxy path", () => {
    const raw = withRules(docker28, "ipv4", "raw", ["-A PREROUTING -s 198.51.100.0/24 -p tcp -m tcp --dport 8080 -j DROP"]);
    expect(canReach(raw, { from: "198.51.100.7", port: 8080 })).toMatchObject({ reachable: false, path: null, decidedBy: { table: "raw", chain: "PREROUTING", position: 1 } });
    const input = withRules(docker28, "ipv6", "filter", ["-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset"]);
    expect(canReach(input, { from: "2001:db8::7", port: 8080 })).toMatchObject({ reachable: false, path: "proxy", decidedBy: { table: "filter", chain: "INPUT", position: 1 } });
  });

  it("Docker 20.10 (DOCKER-USER ends in RETURN)", () => {
    const snapshot = snapshotOf(fixtureText("docker-20.10/02-published-8080.v4.txt"), undefined);
    expect(canReach(snapshot, { from: "198.51.100.7", port: 8080 })).toMatchObject({ reachable: true, path: "forward" });
  });

  it("a loopback-only publication: 26.1.5 DNATs a neighbour's packet for 127.0.0.1, 28.5.2 drops it in raw", () => {
    const old = dockerCapture("docker-26.1.5/loopback", "02-published-127.0.0.1_8080_80.txt");
    expect(canReach(old, { from: "198.51.100.7", port: 8080 })).toMatchObject({ reachable: false, path: null });
    expect(canReach(old, { from: "198.51.100.7", to: "127.0.0.1", port: 8080 })).toMatchObject({ reachable: true, path: "forward" });
    const fixed = dockerCapture("docker-28.5.2/loopback", "02-published-127.0.0.1_8080_80.txt");
    expect(canReach(fixed, { from: "198.51.100.7", to: "127.0.0.1", port: 8080 })).toMatchObject({ reachable: false, decidedBy: { table: "raw", chain: "PREROUTING", position: 2 } });
  });

  it("refuses questions that are not ones", () => {
    expect(() => canReach(docker28, { from: "not-an-address", port: 8080 })).toThrow(CanReachQuestionError);
    expect(() => canReach(docker28, { from: "10.0.0.1", to: "2001:db8::1", port: 8080 })).toThrow(/not an ipv4 address/);
    expect(() => canReach(docker28, { from: "10.0.0.1", port: 70000 })).toThrow(/not a port/);
  });

  it("answers on a 50,000-rule host", () => {
    const big = snapshotOf(generateBigHost({ filterRules: 50_000, dockerUserRules: 20_000 }), undefined);
    // The generated allowlist: rule i lets 198.x.y.(i+1) reach port 1024+i; port 8080 is none of them, and DOCKER-USER ends in RETURN.
    expect(canReach(big, { from: "198.0.0.1", port: 8080 })).toMatchObject({ reachable: true, path: "forward" });
  });
});
