import { z } from "zod";
import type { Family } from "../family";
import type { FamilyRules } from "../host-session";
import { BRIDGE_NAME_OPTION } from "../docker/network-state";
import { parseAddress } from "../schema/address";
import { addressField, boundedString, itemLimit } from "../schema/fields";
import { quote } from "../schema/quote";
import { ownedRules, type EngineRuleMatch } from "./docker-user-rule";
import { resourceBaseShape } from "./resource-base";

/** The bridge driver's option prefix. */
export const BRIDGE_OPTION_PREFIX = "com.docker.network.bridge";

/** The longest interface name Linux allows. */
const MAX_INTERFACE = 15;

/** A Docker object name: what `docker network create` accepts, and never an option. */
const nameField = boundedString(64, "a network name").regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
  message: "a network name starts with a letter or digit and holds only letters, digits, '_', '.' and '-'",
});

/** A CIDR network of one family, without host bits. */
function networkField(family: Family) {
  return boundedString(64, "a network").superRefine((text, ctx) => {
    const parsed = parseAddress(text);
    if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
    else if (parsed.family !== family) ctx.addIssue({ code: "custom", message: `${quote(text)} is not an ${family === "ipv4" ? "IPv4" : "IPv6"} network` });
    else if (!text.includes("/")) ctx.addIssue({ code: "custom", message: `${quote(text)} is one address; give a network, e.g. "${text}/${family === "ipv4" ? 24 : 64}"` });
  });
}

/** One IPv4 address, no prefix. */
const ipv4Field = boundedString(15, "an IPv4 address").superRefine((text, ctx) => {
  const parsed = parseAddress(text);
  if (typeof parsed === "string" || parsed.family !== "ipv4" || text.includes("/")) ctx.addIssue({ code: "custom", message: `${quote(text)} is not an IPv4 address` });
});

/** A bridge interface name, within Linux's 15 characters. */
const bridgeNameField = z
  .string()
  .max(MAX_INTERFACE, { error: `a bridge name is at most ${MAX_INTERFACE} characters (Linux's limit for interface names)`, abort: true })
  .regex(/^[A-Za-z0-9_.-]+$/, { message: "a bridge name holds only letters, digits, '_', '.' and '-'" });

/** Label keys and values: printable, no `=` in keys. */
const labelsField = z.record(
  boundedString(128, "a label key").regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, { message: "a label key holds letters, digits, '.', '_', '/' and '-'" }),
  boundedString(1024, "a label value").refine((v) => !/[\u0000-\u001f]/.test(v), { message: "a label value without control characters" }),
);

/** A daemon address as `docker -H` takes it. */
const dockerHostField = boundedString(4096, "a docker host").regex(/^(unix|tcp|ssh|fd):\/\/[^\s\u0000-\u001f]*$/, {
  message: "a daemon address such as unix:///run/docker.sock or tcp://127.0.0.1:2375",
});

const policyList = itemLimit(64, "at most 64 networks").pipe(z.array(addressField.refine((a) => !a.startsWith("!"), { message: "a destination or source, without '!'" })));

/** The inputs that describe the network itself: Docker cannot change any of them in place, so a change replaces it. */
export const NETWORK_KEYS = ["networkName", "subnet", "gateway", "ipRange", "bridgeName", "hostBindingIpv4", "icc", "masquerade", "internal", "mtu", "ipv6", "subnetV6", "labels", "dockerHost"] as const;

/** Validated arguments of a `BridgeNetwork`; an unknown key is refused. */
export const bridgeNetworkSchema = z
  .strictObject({
    ...resourceBaseShape,
    networkName: nameField,
    subnet: networkField("ipv4").optional(),
    gateway: ipv4Field.optional(),
    ipRange: networkField("ipv4").optional(),
    bridgeName: bridgeNameField.optional(),
    hostBindingIpv4: ipv4Field.optional(),
    icc: z.boolean().optional(),
    masquerade: z.boolean().optional(),
    internal: z.boolean().optional(),
    mtu: z.number().int().min(68).max(65535).optional(),
    ipv6: z.boolean().optional(),
    subnetV6: networkField("ipv6").optional(),
    labels: labelsField.optional(),
    dockerHost: dockerHostField.optional(),
    allowOutboundTo: policyList.optional(),
    allowInboundFrom: policyList.optional(),
  })
  .superRefine((args, ctx) => {
    if ((args.gateway || args.ipRange) && !args.subnet) ctx.addIssue({ code: "custom", path: [args.gateway ? "gateway" : "ipRange"], message: "needs subnet" });
    if (args.subnetV6 && !args.ipv6) ctx.addIssue({ code: "custom", path: ["subnetV6"], message: "needs ipv6: true" });
    for (const key of ["allowOutboundTo", "allowInboundFrom"] as const) {
      (args[key] ?? []).forEach((text, i) => {
        const parsed = parseAddress(text);
        if (typeof parsed !== "string" && parsed.family === "ipv6" && !args.ipv6) ctx.addIssue({ code: "custom", path: [key, i], message: `${quote(text)} is IPv6 and the network has no IPv6 (set ipv6: true)` });
      });
    }
  });

/** The arguments of a `BridgeNetwork` once `check` validated them. */
export type CheckedBridgeNetworkArgs = z.infer<typeof bridgeNetworkSchema>;

/** `docker network create`'s arguments (after `network create`) for the declared network: an argv, the name last. */
export function createArguments(args: CheckedBridgeNetworkArgs): string[] {
  const option = (key: string, value: string | number | boolean | undefined) => (value === undefined ? [] : ["-o", `${key}=${value}`]);
  return [
    "--driver", "bridge",
    ...(args.subnet ? ["--subnet", args.subnet] : []),
    ...(args.gateway ? ["--gateway", args.gateway] : []),
    ...(args.ipRange ? ["--ip-range", args.ipRange] : []),
    ...(args.ipv6 ? ["--ipv6"] : []),
    ...(args.subnetV6 ? ["--subnet", args.subnetV6] : []),
    ...(args.internal ? ["--internal"] : []),
    ...option(BRIDGE_NAME_OPTION, args.bridgeName),
    ...option(`${BRIDGE_OPTION_PREFIX}.host_binding_ipv4`, args.hostBindingIpv4),
    ...option(`${BRIDGE_OPTION_PREFIX}.enable_icc`, args.icc),
    ...option(`${BRIDGE_OPTION_PREFIX}.enable_ip_masquerade`, args.masquerade),
    ...option("com.docker.network.driver.mtu", args.mtu),
    ...Object.keys(args.labels ?? {}).sort().flatMap((k) => ["--label", `${k}=${args.labels![k]}`]),
    args.networkName,
  ];
}

/**
 * The policy's rules for the bridge `bridge`, in order, each tagged for the
 * owner: for outbound (`-i BR ! -o BR`), replies pass, then each allowed
 * destination, then DROP; for inbound (`-o BR ! -i BR`), replies pass, then
 * each allowed source, then DROP. Allowed traffic RETURNs to Docker's own
 * rules (so `internal` still holds); traffic between the network's
 * containers never matches, and is left to `icc`.
 */
export function bridgePolicyRules(args: CheckedBridgeNetworkArgs, bridge: string): FamilyRules {
  const family = args.ipv6 ? "both" : "ipv4";
  const rules: EngineRuleMatch[] = [];
  const direction = (inInterface: string, outInterface: string, key: "destination" | "source", allowed: readonly string[], note: string) => {
    rules.push({ family, inInterface, outInterface, ctstate: ["RELATED", "ESTABLISHED"], action: "RETURN", comment: `${note} replies` });
    for (const address of allowed) rules.push({ inInterface, outInterface, [key]: address, action: "RETURN", comment: `${note} allowed` });
    rules.push({ family, inInterface, outInterface, action: "DROP", comment: `${note} others` });
  };
  if (args.allowOutboundTo) direction(bridge, `!${bridge}`, "destination", args.allowOutboundTo, "outbound");
  if (args.allowInboundFrom) direction(`!${bridge}`, bridge, "source", args.allowInboundFrom, "inbound");
  return ownedRules(args.__owner, rules);
}
