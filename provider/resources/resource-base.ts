import { z } from "zod";
import { FIREWALL_CHOICES } from "../firewall-choice";
import { OWNER_KINDS, OWNER_SEGMENT } from "../ownership";
import { connectionSchema } from "../schema/connection-schema";
import { backendField } from "../schema/fields";

/** The owner key the SDK adds to every resource's inputs: `<project>/<stack>/<kind>/<name>`. */
export const ownerField = z.string().refine(
  (o) => {
    const parts = o.split("/");
    return parts.length === 4 && parts.every((s) => OWNER_SEGMENT.test(s)) && (OWNER_KINDS as readonly string[]).includes(parts[2]);
  },
  { message: "project, stack and resource names may contain only letters, digits, '.', '_' and '-' (at most 64 each)" },
);

/** Which firewall the rules live in (see firewall-choice.ts). */
export const firewallField = z.enum(FIREWALL_CHOICES);

/** Fields every resource has: where the host is, which firewall and which iptables, and who owns the rules. */
export const resourceBaseShape = {
  connection: connectionSchema.optional(),
  firewall: firewallField.optional(),
  iptablesBackend: backendField.optional(),
  __owner: ownerField,
};

/**
 * The same fields as stored in a stack's state, checked leniently (unknown
 * connection keys are dropped): `delete` and a fallback `read` need only
 * these, and must work on state written by another version of this package.
 */
export const storedTargetSchema = z.object({
  connection: connectionSchema.strip().optional(),
  firewall: firewallField.optional(),
  iptablesBackend: backendField.optional(),
  __owner: ownerField,
});
