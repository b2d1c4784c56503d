import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FLAG_TABLE } from "../../provider/iptables/flag-table";
import { parseRule, renderRule, type Rule } from "../../provider/iptables/rule";
import { parseSave, ruleLine } from "../../provider/iptables/ruleset";
import { tokenize } from "../../provider/iptables/tokens";

describe("renderRule", () => {
  it("prints header matches, then each module once, then the target", () => {
    const rule: Rule = {
      chain: "DOCKER-USER",
      matches: {
        source: { value: "192.168.0.0/24", negated: true },
        inInterface: { value: "eth0", negated: false },
        protocol: { value: "tcp", negated: false },
        destinationPort: { value: "80", negated: false },
        ctstate: { value: "NEW", negated: false },
        originalDestinationPort: { value: "8080", negated: false },
        ctdir: { value: "ORIGINAL", negated: false },
        comment: { value: "two words", negated: false },
      },
      target: "DROP",
      targetOptions: [],
    };
    expect(renderRule(rule)).toBe(
      '-A DOCKER-USER ! -s 192.168.0.0/24 -i eth0 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW --ctorigdstport 8080 --ctdir ORIGINAL -m comment --comment "two words" -j DROP',
    );
  });

  it("names the port module after the protocol", () => {
    const rule: Rule = { chain: "C", matches: { protocol: { value: "udp", negated: false }, destinationPort: { value: "53", negated: false } }, target: "ACCEPT", targetOptions: [] };
    expect(renderRule(rule)).toBe("-A C -p udp -m udp --dport 53 -j ACCEPT");
  });
});

describe("parseRule", () => {
  it.each([
    '-A DOCKER-USER ! -s 192.168.0.0/24 -d 10.1.2.3/32 ! -i eth0 -o br+ -p tcp -m multiport --dports 80,443,8000:8010 -m iprange ! --src-range 10.0.0.1-10.0.0.9 --dst-range 10.0.1.1-10.0.1.2 -m conntrack --ctstate NEW,ESTABLISHED ! --ctorigsrc 1.2.3.4 --ctorigdst 5.6.7.0/24 ! --ctorigdstport 8080:8090 --ctdir ORIGINAL -m comment --comment "pdf:a/b/rule/c:100:0 hello world" -j REJECT --reject-with icmp-port-unreachable',
    "-A DOCKER-USER -p udp -m udp --dport 53 -j ACCEPT",
    "-A DOCKER-USER -j RETURN",
    '-A DOCKER-USER -m comment --comment "a \\"quoted\\" \\\\back" -j DROP',
  ])("reads %s into fields that render back identically", (line) => {
    const rule = parseRule(tokenize(line));
    expect(rule).toBeDefined();
    expect(renderRule(rule!)).toBe(line);
  });

  it("keeps rules it cannot represent opaque instead of guessing, and reads the rest exactly", () => {
    const filter = parseSave(readFileSync(join(__dirname, "../fixtures/docker-20.10/04-user-bridge-icc-off-binding.v4.txt"), "utf8"));
    const opaque = filter.tables.flatMap((t) => t.rules).filter((r) => parseRule(r.tokens) === undefined).map(ruleLine);
    expect(opaque).toContain("-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER");
    expect(opaque).not.toContain("-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80");
    // Everything parsed renders back to its exact line.
    for (const r of filter.tables.flatMap((t) => t.rules)) {
      const parsed = parseRule(r.tokens);
      if (parsed) expect(renderRule(parsed)).toBe(ruleLine(r));
    }
  });

  it.each([
    "-A X -p tcp -m tcp --sport 80 -j DROP", // a flag the table does not know
    "-A X ! -p tcp -j DROP", // negation the table does not allow
    "-A X -s 10.0.0.0/8", // no target
    "-A X -m tcp --dport 80 -p tcp -j DROP", // not iptables-save's order
  ])("returns undefined for %s", (line) => {
    expect(parseRule(tokenize(line))).toBeUndefined();
  });
});

describe("FLAG_TABLE", () => {
  it("has one row per field", () => {
    const fields = FLAG_TABLE.map((s) => s.field);
    expect(new Set(fields).size).toBe(fields.length);
  });

  it("keeps each module's rows together, so a module is printed once", () => {
    const modules = FLAG_TABLE.map((s) => s.module).filter((m) => m !== undefined);
    const runs = modules.filter((m, i) => m !== modules[i - 1]);
    expect(new Set(runs).size).toBe(runs.length);
  });
});
