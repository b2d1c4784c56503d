import { dockerLayout } from "../docker/layout";
import { publishedPorts } from "../docker/published-ports";
import { HostError } from "../errors";
import { FAMILIES, type Family } from "../family";
import { parseSave, type Ruleset } from "../iptables/ruleset";
import { READ_MARKERS } from "./daemon-scripts";

/** The daemon.json file as read: missing, or its text with owner and mode. */
export type DaemonFile = { readonly exists: false } | { readonly exists: true; readonly text: string; readonly owner: string; readonly mode: string };

/** What the read command found: the file, whether and how the daemon answers, and each family's tables. */
export interface DaemonState {
  readonly file: DaemonFile;
  /** The running daemon's version and live-restore, as `docker info` says; `undefined` when it did not answer. */
  readonly daemon?: { readonly version: string; readonly liveRestore: boolean };
  /** Each family's every table; a family whose iptables-save failed is missing. */
  readonly rulesets: Readonly<Partial<Record<Family, Ruleset>>>;
}

/** The name of Docker's default bridge, which daemon.json's `ip` is for. */
const DEFAULT_BRIDGE = "docker0";

/**
 * What the running daemon actually uses, read from the host: whether it
 * answers, its version and live-restore (`docker info`), whether it wrote its
 * chains in each family, and the addresses its DNAT rules publish the
 * default bridge's ports on.
 */
export interface Effective {
  /** Whether the daemon answered `docker info`. */
  readonly running: boolean;
  /** Its version, when it answered. */
  readonly version?: string;
  /** Whether live-restore is on, when it answered. */
  readonly liveRestore?: boolean;
  /** Whether its IPv4 chains exist (`iptables` on); unknown when iptables-save failed. */
  readonly iptables?: boolean;
  /** Whether its IPv6 chains exist; unknown when ip6tables-save failed. */
  readonly ip6tables?: boolean;
  /** The addresses the default bridge's published ports are DNATed on (`0.0.0.0`: every address), sorted; empty when none is published. */
  readonly publishedOn: readonly string[];
}

/** Splits the read command's output (see `daemonReadCommand`). */
export function parseDaemonRead(output: string, hostName: string): DaemonState {
  const fileAt = output.search(new RegExp(`^(${READ_MARKERS.file}|${READ_MARKERS.absent}$)`, "m"));
  if (fileAt < 0) throw new HostError(hostName, "reading daemon.json printed neither the file nor that it is missing");
  const head = output.slice(0, fileAt);
  const tail = output.slice(fileAt);
  const newline = tail.indexOf("\n");
  const meta = /^#@pdf file (\S+) (\S+)$/.exec(tail.slice(0, newline));
  const file: DaemonFile = meta ? { exists: true, owner: meta[1], mode: meta[2], text: tail.slice(newline + 1) } : { exists: false };
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of head.split("\n")) {
    if (line === READ_MARKERS.docker || line === READ_MARKERS.ipv4 || line === READ_MARKERS.ipv6) sections.set(line, (current = []));
    else current?.push(line);
  }
  const available = (marker: string) => {
    const lines = sections.get(marker);
    return lines && !lines.includes(READ_MARKERS.unavailable) ? lines : undefined;
  };
  const info = /^(\S+) (true|false)$/.exec(available(READ_MARKERS.docker)?.[0] ?? "");
  const rulesets: Partial<Record<Family, Ruleset>> = {};
  for (const f of FAMILIES) {
    const lines = available(f === "ipv4" ? READ_MARKERS.ipv4 : READ_MARKERS.ipv6);
    if (!lines) continue;
    try {
      rulesets[f] = parseSave(lines.join("\n"));
    } catch {
      // A save we cannot parse tells nothing about Docker's chains: that family is unknown.
    }
  }
  return { file, daemon: info ? { version: info[1], liveRestore: info[2] === "true" } : undefined, rulesets };
}

/** What the running daemon uses, from what the read command found. */
export function effectiveOf(state: DaemonState): Effective {
  const v4 = state.rulesets.ipv4;
  const v6 = state.rulesets.ipv6;
  const publishedOn = v4 ? [...new Set(publishedPorts(v4, "ipv4").filter((m) => m.bridge === DEFAULT_BRIDGE).map((m) => m.bindAddress))].sort() : [];
  return {
    running: state.daemon !== undefined,
    ...(state.daemon ? { version: state.daemon.version, liveRestore: state.daemon.liveRestore } : {}),
    ...(v4 ? { iptables: dockerLayout(v4).managed } : {}),
    ...(v6 ? { ip6tables: dockerLayout(v6).managed } : {}),
    publishedOn,
  };
}

/**
 * Where the running daemon does not do what the file says, for the keys
 * given (daemon.json names and the file's values): `iptables` against its
 * IPv4 chains, `ip6tables: false` against IPv6 chains it still has,
 * `live-restore` against `docker info`, and `ip` against the addresses its
 * DNAT rules publish the default bridge on (when it publishes any). A
 * daemon that does not answer is reported once.
 */
export function daemonDrift(effective: Effective, fileValues: Readonly<Record<string, unknown>>): string[] {
  if (!effective.running) return ["the daemon does not answer (docker info failed)"];
  const out: string[] = [];
  const say = (key: string, runs: string) => out.push(`the running daemon ${runs}, but the file says "${key}": ${JSON.stringify(fileValues[key])} (restart it to apply the file)`);
  if (typeof fileValues.iptables === "boolean" && effective.iptables !== undefined && effective.iptables !== fileValues.iptables) {
    say("iptables", effective.iptables ? "has its IPv4 chains" : "has no IPv4 chains");
  }
  if (fileValues.ip6tables === false && effective.ip6tables === true) say("ip6tables", "has its IPv6 chains");
  if (typeof fileValues["live-restore"] === "boolean" && effective.liveRestore !== fileValues["live-restore"]) {
    say("live-restore", `runs with live-restore ${effective.liveRestore ? "on" : "off"}`);
  }
  const ip = fileValues.ip;
  if (typeof ip === "string" && effective.publishedOn.length > 0 && effective.publishedOn.some((a) => a !== ip)) {
    say("ip", `publishes the default bridge's ports on ${effective.publishedOn.join(", ")}`);
  }
  return out;
}
