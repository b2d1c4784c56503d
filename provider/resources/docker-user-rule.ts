import { z } from "zod";
import { ValidationError } from "../errors";
import type { Family } from "../family";
import type { MatchField } from "../iptables/flag-table";
import type { MatchValue, Rule } from "../iptables/rule";
import { renderRule } from "../iptables/rule";
import { userTable, type GuardedChain } from "../chains";
import { DOCKER_PROXY } from "../docker/listeners";
import { dockerLayoutOf, publishedPortsOf } from "../docker/docker-on-host";
import { portsOverlap } from "../docker/published-ports";
import { DOCKER_USER } from "../docker/layout";
import { firewallOf, type Firewall } from "../firewall-choice";
import type { FamilyRules, Snapshot } from "../host-session";
import { formatTag, parseTag } from "../ownership";
import type { OwnedRule } from "../planner";
import { conntrackForm, headerForm, parseAddress, parseRange, type Address } from "../schema/address";
import { addressField, commentField, CT_STATES, ctstateField, interfaceField, portOrRange, portsField, rangeField, splitNegation } from "../schema/fields";
import { resourceBaseShape } from "./resource-base";
import type { Observation } from "./rule-resource";

/** The address fields, with the flag-table field and form each becomes. */
const ADDRESS_FIELDS = [
  ["source", "source", headerForm],
  ["destination", "destination", headerForm],
  ["originalSource", "originalSource", conntrackForm],
  ["originalDestination", "originalDestination", conntrackForm],
] as const;

const RANGE_FIELDS = [
  ["sourceRange", "sourceRange"],
  ["destinationRange", "destinationRange"],
] as const;

/** What one DOCKER-USER rule matches and does. */
export const ruleMatchShape = {
  family: z.enum(["ipv4", "ipv6", "both"]).optional(),
  priority: z.number().int().min(0).max(999).optional(),
  action: z.enum(["ACCEPT", "DROP", "REJECT", "RETURN"]),
  source: addressField.optional(),
  destination: addressField.optional(),
  sourceRange: rangeField.optional(),
  destinationRange: rangeField.optional(),
  inInterface: interfaceField.optional(),
  outInterface: interfaceField.optional(),
  protocol: z.enum(["tcp", "udp", "icmp", "icmpv6", "all"]).optional(),
  destinationPort: portsField.optional(),
  originalSource: addressField.optional(),
  originalDestination: addressField.optional(),
  originalDestinationPort: portOrRange.optional(),
  ctstate: ctstateField.optional(),
  comment: commentField.optional(),
};

/** Validated arguments of a `DockerUserRule`; an unknown key is refused. */
export const dockerUserRuleSchema = z.strictObject({ ...resourceBaseShape, ...ruleMatchShape }).superRefine((args, ctx) => {
  const families = familiesOf(args);
  if (typeof families === "string") ctx.addIssue({ code: "custom", path: ["family"], message: families });
  if (args.destinationPort !== undefined && args.protocol !== "tcp" && args.protocol !== "udp") {
    ctx.addIssue({ code: "custom", path: ["destinationPort"], message: 'destinationPort needs protocol "tcp" or "udp"' });
  }
});

/** The arguments of a `DockerUserRule` once `check` validated them (the SDK's `DockerUserRuleArgs` are what users write). */
export type CheckedDockerUserRuleArgs = z.infer<typeof dockerUserRuleSchema>;

/** The match part of the arguments (what `PublishedPort` reuses per rule). */
export type RuleMatch = z.infer<z.ZodObject<typeof ruleMatchShape>>;

/** A rule as our own resources build it: the user's fields, plus what only the engine sets. */
export interface EngineRuleMatch extends RuleMatch {
  /**
   * The guarded chain it goes in.
   * @default "DOCKER-USER"
   */
  readonly chain?: GuardedChain;
  /** Match only connections Docker did not translate (`! --ctstate DNAT`): direct access to a container. */
  readonly notDnat?: boolean;
  /** Match only packets in a connection's original direction (`--ctdir ORIGINAL`), never replies. */
  readonly originalDirection?: boolean;
}

/** The default priority. */
export const DEFAULT_PRIORITY = 500;

/**
 * The families a rule applies to: named by `family`, else implied by its
 * addresses or ICMP protocol, else both (a DROP that silently leaves IPv6
 * open would be the wrong default). Returns a message on a contradiction.
 */
export function familiesOf(args: RuleMatch): Family[] | string {
  const implied = new Set<Family>();
  for (const [key] of ADDRESS_FIELDS) {
    const text = args[key];
    const parsed = text === undefined ? undefined : parseAddress(splitNegation(text).body);
    if (parsed && typeof parsed !== "string") implied.add(parsed.family);
  }
  for (const [key] of RANGE_FIELDS) {
    const text = args[key];
    const parsed = text === undefined ? undefined : parseRange(splitNegation(text).body);
    if (parsed && typeof parsed !== "string") implied.add(parsed.family);
  }
  if (args.protocol === "icmp") implied.add("ipv4");
  if (args.protocol === "icmpv6") implied.add("ipv6");
  if (implied.size > 1) return "the addresses and protocol mix IPv4 and IPv6; split this into one rule per family";
  const only = [...implied][0];
  if (args.family === undefined || args.family === "both") {
    if (args.family === "both" && only) return `family "both" contradicts the ${only} addresses or protocol`;
    return only ? [only] : ["ipv4", "ipv6"];
  }
  if (only && only !== args.family) return `family "${args.family}" contradicts the ${only} addresses or protocol`;
  return [args.family];
}

/**
 * Builds the structured rule for one family. The tag (ownership comment) is
 * passed in; `renderRule` of the result is exactly what iptables-save prints.
 */
export function buildRule(args: EngineRuleMatch, family: Family, comment: string): Rule {
  const matches: Partial<Record<MatchField, MatchValue>> = {};
  const set = (field: MatchField, text: string | undefined, form: (body: string) => string = (b) => b) => {
    if (text === undefined) return;
    const { negated, body } = splitNegation(text);
    matches[field] = { value: form(body), negated };
  };
  for (const [key, field, form] of ADDRESS_FIELDS) {
    const address = args[key] === undefined ? undefined : (parseAddress(splitNegation(args[key]!).body) as Address);
    // iptables prints no `-s`/`-d` for a /0: it matches every address, so the rule has no such match.
    if (address && !(address.prefix === 0 && form === headerForm)) set(field, args[key], () => form(address));
  }
  set("inInterface", args.inInterface);
  set("outInterface", args.outInterface);
  if (args.protocol !== undefined && args.protocol !== "all") set("protocol", args.protocol === "icmpv6" ? "ipv6-icmp" : args.protocol);
  const ports = args.destinationPort === undefined ? [] : [args.destinationPort].flat().map(portText);
  if (ports.length === 1) set("destinationPort", ports[0]);
  if (ports.length > 1) set("destinationPorts", ports.join(","));
  for (const [key, field] of RANGE_FIELDS) set(field, args[key], (b) => (parseRange(b) as { text: string }).text);
  if (args.ctstate) set("ctstate", CT_STATES.filter((s) => args.ctstate!.includes(s)).join(","));
  if (args.notDnat) set("ctstate", "!DNAT");
  if (args.originalDestinationPort !== undefined) set("originalDestinationPort", portText(args.originalDestinationPort));
  if (args.originalDirection || matches.originalSource || matches.originalDestination || matches.originalDestinationPort) set("ctdir", "ORIGINAL");
  set("comment", comment);
  const rejectWith = family === "ipv4" ? "icmp-port-unreachable" : "icmp6-port-unreachable";
  return { chain: args.chain ?? DOCKER_USER, matches, target: args.action, targetOptions: args.action === "REJECT" ? ["--reject-with", rejectWith] : [] };
}

/** iptables' form of a port or range: `8080`, `8000:8010`; `80:80` is `80`. */
function portText(port: number | string): string {
  const [a, b] = String(port).split(":").map(Number);
  return b === undefined || a === b ? String(a) : `${a}:${b}`;
}

/**
 * The rules a `DockerUserRule` wants, per family, tagged for its owner.
 * @throws ValidationError when the tag and comment do not fit in iptables' 255-character comment
 */
export function dockerUserRules(args: CheckedDockerUserRuleArgs): FamilyRules {
  return ownedRules(args.__owner, [args]);
}

/** Tags and renders a resource's rules (in order) for every family each applies to. */
export function ownedRules(owner: string, rules: readonly EngineRuleMatch[]): Record<Family, OwnedRule[]> {
  const out: Record<Family, OwnedRule[]> = { ipv4: [], ipv6: [] };
  rules.forEach((args, index) => {
    const comment = formatTag({ owner, priority: args.priority ?? DEFAULT_PRIORITY, index, note: args.comment });
    if (comment.length > 255) {
      const message = `the ownership tag (project, stack and resource name) and the comment make ${comment.length} characters; iptables allows 255: shorten the comment or the names`;
      throw new ValidationError([{ path: ["comment"], message }]);
    }
    const tag = parseTag(comment)!;
    const families = familiesOf(args);
    if (typeof families === "string") throw new ValidationError([{ path: ["family"], message: families }]);
    for (const family of families) out[family].push({ text: renderRule(buildRule(args, family, comment)), tag });
  });
  return out;
}

/** The warning for a family whose DOCKER-USER lives in the mangle table (see `userTable`). */
export function mangleWarning(family: Family): string {
  return `${family}: Docker does not jump to DOCKER-USER in this family (Docker before 23 with ip6tables, or "failing open") and moves its FORWARD rules above any other jump at every start: our DOCKER-USER lives in the mangle table here, where DROP holds across restarts, ACCEPT does not override Docker's own rules, and REJECT is not available`;
}

/**
 * What a `DockerUserRule` does and does not enforce on the host, as the
 * output `warnings`: a family where Docker writes no rules, a family where
 * DOCKER-USER lives in the mangle table, an ACCEPT in our nftables table
 * (which does not override Docker's own rules), and ports that only
 * docker-proxy serves (through INPUT, never DOCKER-USER).
 */
export function observeDockerUserRule(args: CheckedDockerUserRuleArgs, snapshot: Snapshot): Observation {
  const families = familiesOf(args);
  const firewall = firewallOf(snapshot.nft, args.firewall);
  const warnings = (typeof families === "string" ? [] : families).flatMap((family) => [
    ...familyWarnings(snapshot, family, firewall),
    ...(firewall === "nftables" && args.action === "ACCEPT" ? [`${family}: in our nftables table an ACCEPT only ends our chain: Docker's own nftables rules still decide (a DROP or REJECT is final)`] : []),
  ]);
  return { outputs: { warnings }, drift: [] };
}

/**
 * Per snapshot (never changed once read), the warnings of each family read
 * so far. They depend on the host alone, and all the creates a transaction
 * carries get its one snapshot: each family is read once per batch rather
 * than once per create, which on a big host would scan its tables n times.
 */
const warningsBySnapshot = new WeakMap<Snapshot, Partial<Record<`${Firewall} ${Family}`, readonly string[]>>>();

/** The warnings every DockerUserRule of a firewall in a family gets on the host as read (see {@link observeDockerUserRule}). */
function familyWarnings(snapshot: Snapshot, family: Family, firewall: Firewall): readonly string[] {
  const known = warningsBySnapshot.get(snapshot) ?? {};
  warningsBySnapshot.set(snapshot, known);
  return (known[`${firewall} ${family}`] ??= readFamilyWarnings(snapshot, family, firewall));
}

/** What a family of the host as read does not let our rules see, in words. */
function readFamilyWarnings(snapshot: Snapshot, family: Family, firewall: Firewall): string[] {
  const warnings: string[] = [];
  const layout = dockerLayoutOf(snapshot, family);
  const tool = family === "ipv4" ? "iptables" : "ip6tables";
  if (firewall === "iptables" && !layout.managed) warnings.push(`${family}: Docker writes no ${tool} rules on this host (off in daemon.json, or no Docker): DOCKER-USER is reached through our own FORWARD jump`);
  else if (firewall === "iptables" && userTable(layout) === "mangle") warnings.push(mangleWarning(family));
  // docker-proxy beside a DNAT of the same port serves only the host itself and hairpin traffic; alone, it serves everyone.
  const dnat = publishedPortsOf(snapshot, family);
  const proxied = snapshot.listeners.filter((l) => l.family === family && l.process === DOCKER_PROXY && !dnat.some((m) => m.protocol === l.protocol && portsOverlap(m.hostPort, String(l.port))));
  if (proxied.length > 0) {
    const where = [...new Set(proxied.map((l) => `${family === "ipv6" ? `[${l.address}]` : l.address}:${l.port}/${l.protocol}`))].sort().join(", ");
    warnings.push(`${family}: docker-proxy serves ${where}: those connections reach the host through INPUT and never pass DOCKER-USER; a PublishedPort guards every path to a port`);
  }
  return warnings;
}
