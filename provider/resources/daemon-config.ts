import { z } from "zod";
import { DAEMON_KEYS } from "../daemon/daemon-keys";
import { parseAddress } from "../schema/address";
import { connectionSchema } from "../schema/connection-schema";
import { backendField, boundedString } from "../schema/fields";
import { quote } from "../schema/quote";

/** Where dockerd reads its configuration unless told otherwise. */
export const DEFAULT_DAEMON_JSON = "/etc/docker/daemon.json";

/** An address (no prefix) for daemon.json's `ip`. */
const ipField = boundedString(64, "an address").superRefine((text, ctx) => {
  const parsed = parseAddress(text);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
  else if (text.includes("/")) ctx.addIssue({ code: "custom", message: `${quote(text)} is a network; "ip" takes one address, e.g. "127.0.0.1"` });
});

/** An absolute path without control characters or `..` segments. */
const pathField = boundedString(4096, "a path").refine((p) => p.startsWith("/") && !/[\u0000-\u001f]/.test(p) && !p.split("/").includes("..") && !p.endsWith("/"), {
  message: "an absolute file path without '..' or control characters, e.g. /etc/docker/daemon.json",
});

/** A daemon address as `docker -H` takes it. */
const dockerHostField = boundedString(4096, "a docker host").regex(/^(unix|tcp|ssh|fd):\/\/[^\s\u0000-\u001f]*$/, {
  message: "a daemon address such as unix:///run/docker.sock or tcp://127.0.0.1:2375",
});

/** One argument of the restart command. */
const argField = boundedString(4096, "an argument").refine((a) => a.length > 0 && !a.includes("\u0000"), { message: "a non-empty argument without NUL" });

const keyShape = {
  ip: ipField.optional(),
  iptables: z.boolean().optional(),
  ip6tables: z.boolean().optional(),
  ipv6: z.boolean().optional(),
  userlandProxy: z.boolean().optional(),
  ipMasq: z.boolean().optional(),
  icc: z.boolean().optional(),
  ipForward: z.boolean().optional(),
  liveRestore: z.boolean().optional(),
  allowDirectRouting: z.boolean().optional(),
  firewallBackend: z.enum(["iptables", "nftables"]).optional(),
} satisfies Record<(typeof DAEMON_KEYS)[number]["input"], z.ZodType>;

/** Validated arguments of a `DaemonConfig`; an unknown key is refused (naming the key it most likely meant). */
export const daemonConfigSchema = z
  .strictObject({
    connection: connectionSchema.optional(),
    iptablesBackend: backendField.optional(),
    path: pathField.optional(),
    dockerHost: dockerHostField.optional(),
    restart: z.enum(["never", "if-changed"]).optional(),
    restartCommand: z.array(argField).min(1, "at least the program to run").max(64).optional(),
    ...keyShape,
  })
  .superRefine((args, ctx) => {
    if (DAEMON_KEYS.every((k) => args[k.input] === undefined)) {
      ctx.addIssue({ code: "custom", path: [], message: `set at least one daemon.json key (${DAEMON_KEYS.map((k) => k.input).join(", ")})` });
    }
  });

/** The arguments of a `DaemonConfig` once `check` validated them. */
export type CheckedDaemonConfigArgs = z.infer<typeof daemonConfigSchema>;

/**
 * The state a `DaemonConfig` keeps of what it changed: per managed
 * daemon.json key, the value it had before (`null`: absent), so `delete`
 * can put it back. Read leniently from state.
 */
export const previousValuesSchema = z.record(z.string(), z.union([z.boolean(), z.string(), z.null()]));
