import { HostError } from "../errors";
import type { Family } from "../family";
import { snapshotOf, type Snapshot } from "../host-session";
import { parseReadOutput } from "../host-scripts";
import { ruleLine, type Ruleset } from "../iptables/ruleset";
import { TAG_PREFIX } from "../ownership";
import { NETWORK_MARKERS } from "./network-scripts";

/** The bridge driver's option that names the interface. */
export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

/** What `docker network inspect` says about a network, in the few fields the engine uses. */
export interface NetworkState {
  /** The network's full id. */
  readonly id: string;
  /** The driver (`bridge` for ours). */
  readonly driver: string;
  /** The bridge interface: the name option, else Docker's default `br-<first 12 of the id>`. */
  readonly bridgeName: string;
  /** The IPv4 subnet Docker assigned (or was given). */
  readonly subnet?: string;
  /** The IPv6 subnet, when the network has IPv6. */
  readonly subnetV6?: string;
  /** Whether it was made with `--internal`. */
  readonly internal: boolean;
  /** Whether it has IPv6. */
  readonly ipv6: boolean;
  /** Driver options as Docker stores them (`com.docker.network.bridge.enable_icc` …). */
  readonly options: Readonly<Record<string, string>>;
}

/** The read script's answer: the network (absent: `undefined`) and both families' tables. */
export interface NetworkRead {
  readonly network?: NetworkState;
  readonly snapshot: Snapshot;
}

/** The subset of `docker network inspect`'s JSON that is read. */
interface InspectJson {
  Id?: string;
  Driver?: string;
  EnableIPv6?: boolean;
  Internal?: boolean;
  IPAM?: { Config?: { Subnet?: string }[] | null };
  Options?: Record<string, string> | null;
}

/** Parses the output of `networkReadCommand`. */
export function parseNetworkRead(output: string, hostName: string): NetworkRead {
  const start = output.indexOf(`${NETWORK_MARKERS.network}\n`);
  const split = output.indexOf(`\n${NETWORK_MARKERS.firewall}\n`);
  if (start < 0 || split < 0) throw new HostError(hostName, "inspecting the network printed neither the network nor the firewall");
  const inspected = output.slice(start + NETWORK_MARKERS.network.length + 1, split).trim();
  const snapshot = snapshotOf(parseReadOutput(output.slice(split + NETWORK_MARKERS.firewall.length + 2), hostName));
  if (inspected === NETWORK_MARKERS.absent) return { snapshot };
  let json: InspectJson;
  try {
    json = JSON.parse(inspected) as InspectJson;
  } catch {
    throw new HostError(hostName, `docker network inspect printed something that is not JSON: ${inspected.slice(0, 200)}`);
  }
  return { network: networkState(json), snapshot };
}

function networkState(json: InspectJson): NetworkState {
  const id = json.Id ?? "";
  const options = json.Options ?? {};
  const subnets = (json.IPAM?.Config ?? []).map((c) => c.Subnet ?? "").filter((s) => s !== "");
  return {
    id,
    driver: json.Driver ?? "",
    bridgeName: options[BRIDGE_NAME_OPTION] ?? `br-${id.slice(0, 12)}`,
    subnet: subnets.find((s) => !s.includes(":")),
    subnetV6: subnets.find((s) => s.includes(":")),
    internal: json.Internal === true,
    ipv6: json.EnableIPv6 === true,
    options,
  };
}

/** The tables Docker writes a bridge's rules in. */
const DOCKER_TABLES = ["raw", "filter", "nat"] as const;

/**
 * The rules Docker made for a bridge, per table, as iptables-save prints
 * them: every rule naming the interface (`-i`/`-o`, negated or not) or the
 * subnet (`-s`/`-d`), except ours.
 */
export function dockerBridgeRules(ruleset: Ruleset, bridgeName: string, subnet: string | undefined): Record<string, string[]> {
  const words = new Set([`-i ${bridgeName}`, `-o ${bridgeName}`, ...(subnet ? [`-s ${subnet}`, `-d ${subnet}`] : [])]);
  const out: Record<string, string[]> = {};
  for (const table of ruleset.tables) {
    if (!(DOCKER_TABLES as readonly string[]).includes(table.name)) continue;
    const lines = table.rules.map(ruleLine).filter((line) => !line.includes(`--comment "${TAG_PREFIX}`) && !line.includes(`--comment ${TAG_PREFIX}`) && mentions(line, words));
    if (lines.length > 0) out[table.name] = lines;
  }
  return out;
}

/** Whether a rule line holds one of the `flag value` pairs, as whole words. */
function mentions(line: string, pairs: ReadonlySet<string>): boolean {
  const w = line.split(" ");
  return w.some((word, i) => i + 1 < w.length && pairs.has(`${word} ${w[i + 1]}`));
}

/** The subnet of a family, as the network has it. */
export function subnetOf(network: NetworkState, family: Family): string | undefined {
  return family === "ipv4" ? network.subnet : network.subnetV6;
}
