import { classifyCommandFailure } from "../command-failure";
import { userTable } from "../chains";
import type { Connection } from "../connection";
import { dockerLayoutOf } from "../docker/docker-on-host";
import { firewallOf } from "../firewall-choice";
import { NETWORK_EXIT, networkCreateCommand, networkReadCommand, networkRemoveCommand } from "../docker/network-scripts";
import { dockerBridgeRules, parseNetworkRead, subnetOf, type NetworkRead, type NetworkState } from "../docker/network-state";
import { formatPath, HostError, ValidationError } from "../errors";
import { FAMILIES, type Family } from "../family";
import { driftOf, type FamilyRules, type Snapshot } from "../host-session";
import { containsUnknown, findIssues, parseOrThrow } from "../schema/validate";
import { firewallIdentity, sessionFor } from "../sessions";
import type { HostSession } from "../host-session";
import { BRIDGE_OPTION_PREFIX, bridgeNetworkSchema, bridgePolicyRules, createArguments, NETWORK_KEYS, type CheckedBridgeNetworkArgs } from "./bridge-network";
import { mangleWarning } from "./docker-user-rule";
import type { Props, ResourceEngine } from "./rule-resource";

/** Outputs of a `BridgeNetwork` only: set aside before the arguments are validated, never compared by diff. */
const OUTPUT_KEYS = new Set(["networkId", "dockerRules", "drift", "warnings", "__provider"]);

/**
 * Outputs that share a name with an input: what Docker assigned, stored
 * where the input was. Compared only when the new inputs declare them, so
 * a name or subnet left to Docker is not a change.
 */
const SHARED_KEYS: ReadonlySet<string> = new Set(["bridgeName", "subnet"]);

/** A bridge name long enough for any default (`br-` and 12 hex digits), to check the rules' tags before Docker names the bridge. */
const LONGEST_DEFAULT_BRIDGE = "br-000000000000";

/**
 * The lifecycle of a `BridgeNetwork`: a Docker bridge network made,
 * inspected and removed with the `docker` CLI on the host, and its policy
 * as our own DOCKER-USER rules keyed on the bridge interface, applied like
 * every other rule of ours.
 */
export const bridgeNetwork: ResourceEngine = {
  async check(_olds, news) {
    const args = argumentsOf(news);
    const issues = findIssues(bridgeNetworkSchema, args);
    if (issues.length === 0 && !containsUnknown(news)) {
      try {
        const parsed = parseOrThrow(bridgeNetworkSchema, args);
        bridgePolicyRules(parsed, parsed.bridgeName ?? LONGEST_DEFAULT_BRIDGE);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        issues.push(...error.issues);
      }
    }
    return { inputs: news, failures: issues.map((i) => ({ property: formatPath(i.path), reason: i.message })) };
  },

  async diff(_id, olds, news) {
    const before = argumentsOf(olds);
    const after = argumentsOf(news);
    const differs = (k: string) => !(SHARED_KEYS.has(k) && after[k] === undefined) && JSON.stringify(before[k]) !== JSON.stringify(after[k]);
    // During a preview, an input may not be known yet: that is a possible change, not (yet) a replacement.
    const replaces: string[] = NETWORK_KEYS.filter((k) => !containsUnknown(before[k]) && !containsUnknown(after[k]) && differs(k));
    for (const k of ["connection", "iptablesBackend"] as const) {
      if (!containsUnknown(olds[k]) && !containsUnknown(news[k]) && targetOf(k, olds[k]) !== targetOf(k, news[k])) replaces.push(k);
    }
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].some(differs);
    const drifted = Array.isArray(olds.drift) && olds.drift.length > 0;
    return { changes: changed || drifted || replaces.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(inputs) {
    const args = parseOrThrow(bridgeNetworkSchema, argumentsOf(inputs));
    await sessionOf(args).run(async (host) => {
      const command = networkCreateCommand(createArguments(args), args.dockerHost);
      const result = await host.exec(command.argv, { timeoutMs: 120_000 });
      if (result.code === NETWORK_EXIT.lockTimeout) throw new HostError(host.name, result.stderr.trim());
      if (result.code !== 0) throw classifyCommandFailure(host.name, [command.label], result);
    });
    const network = await inspected(args);
    try {
      return { id: network.id, outs: await applyPolicy(args, inputs, network) };
    } catch (error) {
      // A network without its policy would be open: take it away again, so that nothing is left that the stack does not know.
      await removeNetwork(args).catch((cleanup: unknown) => {
        throw new AggregateError([error, cleanup], `network ${args.networkName} was created, its policy could not be applied, and removing it failed too: remove it by hand`);
      });
      throw error;
    }
  },

  async read(id, props) {
    let args: CheckedBridgeNetworkArgs;
    try {
      args = parseOrThrow(bridgeNetworkSchema, argumentsOf(props));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return { id, props: { ...props, drift: [`the stored inputs no longer pass this version's checks: ${error.message}`] } };
    }
    const { network, snapshot } = await readNetwork(args);
    if (!network) return { id: "", props: {} };
    const drift = [...networkDrift(args, network, id), ...policyDrift(args, network, snapshot)];
    return { id, props: outputs(args, props, network, snapshot, drift) };
  },

  async update(_id, _olds, news) {
    const args = parseOrThrow(bridgeNetworkSchema, argumentsOf(news));
    return { outs: await applyPolicy(args, news, await inspected(args)) };
  },

  async delete(_id, props) {
    const args = parseOrThrow(bridgeNetworkSchema, argumentsOf(props));
    await removeNetwork(args);
    await sessionOf(args).apply({ owner: args.__owner, rules: { ipv4: [], ipv6: [] } });
  },
};

/** Removes the network (a network already gone is fine); refuses, naming them, while containers use it. */
function removeNetwork(args: CheckedBridgeNetworkArgs): Promise<void> {
  return sessionOf(args).run(async (host) => {
    const command = networkRemoveCommand(args.networkName, args.dockerHost);
    const result = await host.exec(command.argv, { timeoutMs: 120_000 });
    if (result.code === NETWORK_EXIT.inUse) {
      const names = result.stderr.trim().split(/\s+/).sort().join(", ");
      throw new HostError(host.name, `network ${args.networkName} still has containers: ${names}; remove them or disconnect them (docker network disconnect ${args.networkName} NAME) first; nothing was changed`);
    }
    if (result.code === NETWORK_EXIT.lockTimeout) throw new HostError(host.name, result.stderr.trim());
    if (result.code !== 0) throw classifyCommandFailure(host.name, [command.label], result);
  });
}

/** Applies the policy for the network's bridge in one transaction and returns the outputs as read back. */
async function applyPolicy(args: CheckedBridgeNetworkArgs, inputs: Props, network: NetworkState): Promise<Props> {
  const { snapshot } = await sessionOf(args).apply({ owner: args.__owner, firewall: args.firewall, rules: bridgePolicyRules(args, network.bridgeName) });
  return outputs(args, inputs, network, snapshot, []);
}

/** Inspects the network and reads both families' tables, in one command on the host. */
function readNetwork(args: CheckedBridgeNetworkArgs): Promise<NetworkRead> {
  return sessionOf(args).run(async (host) => {
    const command = networkReadCommand(args.networkName, args.dockerHost, args.iptablesBackend ?? "auto");
    const result = await host.exec(command.argv, { timeoutMs: 120_000 });
    if (result.code !== 0) throw classifyCommandFailure(host.name, [command.label], result);
    return parseNetworkRead(result.stdout, host.name);
  });
}

/** The network as inspected; an error when it is missing. */
async function inspected(args: CheckedBridgeNetworkArgs): Promise<NetworkState> {
  const { network } = await readNetwork(args);
  if (!network) throw new HostError(sessionOf(args).host.name, `network ${args.networkName} does not exist`);
  return network;
}

/** The outputs: the inputs, then what the host holds. */
function outputs(args: CheckedBridgeNetworkArgs, inputs: Props, network: NetworkState, snapshot: Snapshot, drift: readonly string[]): Props {
  const dockerRules: Partial<Record<Family, Record<string, string[]>>> = {};
  for (const f of FAMILIES) {
    const subnet = subnetOf(network, f);
    if (f === "ipv4" || subnet) dockerRules[f] = dockerBridgeRules(snapshot[f], network.bridgeName, subnet);
  }
  return {
    ...argumentsOf(inputs),
    networkId: network.id,
    bridgeName: network.bridgeName,
    subnet: network.subnet,
    dockerRules,
    drift: [...drift],
    warnings: warningsOf(args, network, snapshot),
  };
}

/** What differs in the network itself: another network by that name, or options changed behind our back. */
function networkDrift(args: CheckedBridgeNetworkArgs, network: NetworkState, id: string): string[] {
  const drift: string[] = [];
  if (network.id !== id) drift.push(`network ${args.networkName} is another network now (id ${network.id.slice(0, 12)}, created as ${id.slice(0, 12)})`);
  if (network.driver !== "bridge") drift.push(`network ${args.networkName} uses the ${network.driver} driver, not bridge`);
  if (args.subnet && network.subnet !== args.subnet) drift.push(`network ${args.networkName} has subnet ${network.subnet ?? "none"}; declared ${args.subnet}`);
  if (args.bridgeName && network.bridgeName !== args.bridgeName) drift.push(`network ${args.networkName} uses bridge ${network.bridgeName}; declared ${args.bridgeName}`);
  if (network.internal !== (args.internal ?? false)) drift.push(`network ${args.networkName} is ${network.internal ? "" : "not "}internal; declared ${args.internal ? "internal" : "not internal"}`);
  for (const [key, option, declared] of declaredOptions(args)) {
    const actual = network.options[option];
    if (declared !== undefined && actual !== undefined && actual !== declared) drift.push(`network ${args.networkName} has ${option}=${actual}; declared ${key} ${declared}`);
  }
  return drift;
}

/** The declared driver options that Docker keeps in the inspection: input, option, value as Docker prints it. */
function declaredOptions(args: CheckedBridgeNetworkArgs): [string, string, string | undefined][] {
  const text = (v: boolean | string | undefined) => (v === undefined ? undefined : String(v));
  return [
    ["icc", `${BRIDGE_OPTION_PREFIX}.enable_icc`, text(args.icc)],
    ["masquerade", `${BRIDGE_OPTION_PREFIX}.enable_ip_masquerade`, text(args.masquerade)],
    ["hostBindingIpv4", `${BRIDGE_OPTION_PREFIX}.host_binding_ipv4`, text(args.hostBindingIpv4)],
  ];
}

/** What the policy's rules lack on the host, in the words every rule resource uses. */
function policyDrift(args: CheckedBridgeNetworkArgs, network: NetworkState, snapshot: Snapshot): string[] {
  const wanted: FamilyRules = bridgePolicyRules(args, network.bridgeName);
  return driftOf(snapshot, { owner: args.__owner, firewall: args.firewall, rules: wanted }, sessionOf(args).host.name);
}

/** What the policy does not enforce on this host. */
function warningsOf(args: CheckedBridgeNetworkArgs, network: NetworkState, snapshot: Snapshot): string[] {
  if (!args.allowOutboundTo && !args.allowInboundFrom) return [];
  const warnings: string[] = [];
  const firewall = firewallOf(snapshot.nft, args.firewall);
  for (const f of FAMILIES.filter((fam) => fam === "ipv4" || network.ipv6)) {
    const layout = dockerLayoutOf(snapshot, f);
    if (firewall === "nftables") continue;
    if (!layout.managed) warnings.push(`${f}: Docker writes no ${f === "ipv4" ? "iptables" : "ip6tables"} rules on this host: the network's traffic is not filtered by Docker, only by our rules`);
    else if (userTable(layout) === "mangle") warnings.push(mangleWarning(f));
  }
  if (args.allowInboundFrom) warnings.push("allowInboundFrom covers forwarded traffic (published ports through DNAT, routed access); connections docker-proxy relays from the host itself arrive through INPUT and are not filtered");
  return warnings;
}

/** The arguments among stored or new props: outputs aside, and a shared key only when it holds a value. */
function argumentsOf(props: Props): Props {
  return Object.fromEntries(Object.entries(props).filter(([k, v]) => !OUTPUT_KEYS.has(k) && !(SHARED_KEYS.has(k) && (v === undefined || v === null))));
}

function targetOf(key: "connection" | "iptablesBackend", value: unknown): string {
  return key === "connection" ? firewallIdentity(value as Connection | undefined) : String(value ?? "auto");
}

/** The session of the network's host, whose queue runs its Docker commands between firewall transactions. */
function sessionOf(args: CheckedBridgeNetworkArgs): HostSession {
  return sessionFor(args.connection, args.iptablesBackend);
}
