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
  /** The container's address, from the target (`172.17.0.2`, `2001:db8::2`). */
  readonly containerAddress: string;
  /** The container's port or range, from the target (`80`, `8000:8010`, as iptables writes ports). */
  readonly containerPort: string;
  /** The bridge the container is on: the DNAT rule's `! -i BR`, or else the filter DOCKER chain's ACCEPT for the container; `undefined` when neither names it. */
  readonly bridge: string | undefined;
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
    const target = rule.targetOptions[1] ?? "";
    const { address, port: containerPort } = splitTarget(target);
    const inInterface = rule.matches.inInterface;
    out.push({
      family,
      protocol: rule.matches.protocol?.value ?? "all",
      hostPort: port.value,
      bindAddress: bind && !bind.negated ? withoutHostPrefix(bind.value) : family === "ipv4" ? "0.0.0.0" : "::",
      target,
      containerAddress: address,
      containerPort,
      bridge: inInterface?.negated ? inInterface.value : acceptingBridge(ruleset, address),
    });
  }
  return out;
}

/** `172.17.0.2:80` → address and port; `[2001:db8::2]:80-90` → `2001:db8::2`, `80:90`. */
function splitTarget(target: string): { address: string; port: string } {
  const m = /^\[?([^\]]*?)\]?:(\d+)(?:-(\d+))?$/.exec(target);
  if (!m) return { address: target, port: "" };
  return { address: m[1], port: m[3] === undefined || m[3] === m[2] ? m[2] : `${m[2]}:${m[3]}` };
}

/** The bridge of the filter DOCKER chain's `-d C ! -i BR -o BR … -j ACCEPT` for a container address. */
function acceptingBridge(ruleset: Ruleset, address: string): string | undefined {
  for (const saved of chainRules(findTable(ruleset, "filter"), "DOCKER")) {
    const rule = parseRule(saved.tokens);
    const destination = rule?.matches.destination;
    if (rule?.target === "ACCEPT" && destination && !destination.negated && withoutHostPrefix(destination.value) === address) return rule.matches.outInterface?.value;
  }
  return undefined;
}

function withoutHostPrefix(address: string): string {
  return address.replace(/\/(32|128)$/, "");
}

/** Whether a published host port (or range) overlaps the port or range asked about. */
export function portsOverlap(published: string, asked: string): boolean {
  const [a1, a2 = a1] = published.split(":").map(Number);
  const [b1, b2 = b1] = asked.split(":").map(Number);
  return a1 <= b2 && b1 <= a2;
}
