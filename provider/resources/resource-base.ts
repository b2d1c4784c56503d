import { z } from "zod";
import { OWNER_SEGMENT } from "../ownership";
import { connectionSchema } from "../schema/connection-schema";
import { backendField } from "../schema/fields";

/** The owner key the SDK adds to every resource's inputs: `<project>/<stack>/<kind>/<name>`. */
export const ownerField = z
  .string()
  .refine((o) => o.split("/").length === 4 && o.split("/").every((s) => OWNER_SEGMENT.test(s)), {
    message: "project, stack and resource names may contain only letters, digits, '.', '_' and '-' (at most 64 each)",
  });

/** Fields every resource has: where the host is, which iptables, and who owns the rules. */
export const resourceBaseShape = {
  connection: connectionSchema.optional(),
  iptablesBackend: backendField.optional(),
  __owner: ownerField,
};
