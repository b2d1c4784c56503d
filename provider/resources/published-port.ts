import { z } from "zod";
import { publishedPorts, portsOverlap } from "../docker/published-ports";
import { FAMILIES, type Family } from "../family";
import type { Rulesets } from "../host-session";
import type { OwnedRule } from "../planner";
import { addressField, itemLimit, portOrRange } from "../schema/fields";
import { ownedRules, ruleMatchShape, type RuleMatch } from "./docker-user-rule";
import { resourceBaseShape } from "./resource-base";

/** Validated arguments of a `PublishedPort`; an unknown key is refused. */
export const publishedPortSchema = z.strictObject({
  ...resourceBaseShape,
  hostPort: portOrRange,
  protocol: z.enum(["tcp", "udp"]).optional(),
  allowFrom: itemLimit(200, "at most 200 addresses in allowFrom").pipe(
    z.array(addressField.refine((a) => !a.startsWith("!"), { message: "allowFrom lists who may connect; negation is not allowed here" })),
  ),
  inInterface: ruleMatchShape.inInterface,
  family: ruleMatchShape.family,
  priority: ruleMatchShape.priority,
  comment: ruleMatchShape.comment,
});

/** The arguments of a `PublishedPort` once `check` validated them (the SDK's `PublishedPortArgs` are what users write). */
export type CheckedPublishedPortArgs = z.infer<typeof publishedPortSchema>;

/**
 * The allowlist for a published host port, keyed on the port the client
 * asked for (conntrack's original destination port), so it never names a
 * container address and survives containers being recreated: an ACCEPT per
 * allowed source, then a DROP of every other connection to the port. Both
 * match only connections Docker translated (`--ctstate DNAT`), so a
 * container's own outgoing connections to that port number elsewhere pass.
 */
export function publishedPortRules(args: CheckedPublishedPortArgs): Record<Family, OwnedRule[]> {
  const common: Omit<RuleMatch, "action"> = {
    priority: args.priority,
    inInterface: args.inInterface,
    protocol: args.protocol ?? "tcp",
    ctstate: ["DNAT"],
    originalDestinationPort: args.hostPort,
    comment: args.comment,
  };
  const accepts: RuleMatch[] = args.allowFrom.map((source) => ({ ...common, action: "ACCEPT", source }));
  const drop: RuleMatch = { ...common, action: "DROP", family: args.family ?? "both" };
  return ownedRules(args.__owner, [...accepts, drop]);
}

/** What Docker publishes on the port, read from the nat table: the outputs `published`, `bindAddresses`, `targets`. */
export function observePublishedPort(args: CheckedPublishedPortArgs, snapshot: Rulesets): { published: boolean; bindAddresses: string[]; targets: string[] } {
  const protocol = args.protocol ?? "tcp";
  const mappings = FAMILIES.flatMap((f) => publishedPorts(snapshot[f], f)).filter(
    (m) => m.protocol === protocol && portsOverlap(m.hostPort, String(args.hostPort)),
  );
  const unique = (values: string[]) => [...new Set(values)].sort();
  return { published: mappings.length > 0, bindAddresses: unique(mappings.map((m) => m.bindAddress)), targets: unique(mappings.map((m) => m.target)) };
}
