import type { Family } from "../family";
import { parseRule } from "../iptables/rule";
import { chainRules, findTable, type Ruleset } from "../iptables/ruleset";

/** One port Docker publishes, as its DNAT rule in the nat table's DOCKER chain says. */
export interface PublishedMapping {
  /** The family of the DNAT rule. */
  readonly family: Family;
  /** `tcp`, `udp`, … as the rule's `-p` says. */
  readonly protocol: string;
  /** The host port or range (`8080`, `8000:8010`). */
  readonly hostPort: string;
  /** The address it is published on; `0.0.0.0` or `::` when on every address. */
  readonly bindAddress: string;
  /** Where Docker sends it: `172.17.0.2:80`, `[2001:db8::2]:80`. */
  readonly target: string;
}

/**
 * Reads Docker's published ports out of a family's ruleset: the
 * `-A DOCKER … -j DNAT --to-destination …` rules of the nat table
 * (Docker 20.10 to 29; 28+'s `! -s fe80::/10` on IPv6 included).
 */
export function publishedPorts(ruleset: Ruleset, family: Family): PublishedMapping[] {
  const out: PublishedMapping[] = [];
  for (const saved of chainRules(findTable(ruleset, "nat"), "DOCKER")) {
    const rule = parseRule(saved.tokens);
    const port = rule?.matches.destinationPort;
    if (!rule || rule.target !== "DNAT" || rule.targetOptions[0] !== "--to-destination" || !port || port.negated) continue;
    const bind = rule.matches.destination;
    out.push({
      family,
      protocol: rule.matches.protocol?.value ?? "all",
      hostPort: port.value,
      bindAddress: bind && !bind.negated ? bind.value.replace(/\/(32|128)$/, "") : family === "ipv4" ? "0.0.0.0" : "::",
      target: rule.targetOptions[1] ?? "",
    });
  }
  return out;
}

/** Whether a published host port (or range) overlaps the port or range asked about. */
export function portsOverlap(published: string, asked: string): boolean {
  const [a1, a2 = a1] = published.split(":").map(Number);
  const [b1, b2 = b1] = asked.split(":").map(Number);
  return a1 <= b2 && b1 <= a2;
}
