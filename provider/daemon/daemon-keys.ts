/**
 * The daemon.json keys a `DaemonConfig` manages: one table maps each input
 * to its key and to the JSON type dockerd expects there. Validation, the
 * file check, merging and drift all walk this table.
 */

/** The JSON type a key holds in daemon.json. */
export type KeyType = "boolean" | "string";

/** One managed key: the input that sets it, its daemon.json name and type. */
export interface DaemonKey {
  /** The resource input, e.g. `userlandProxy`. */
  readonly input: string;
  /** The daemon.json key, e.g. `userland-proxy`. */
  readonly key: string;
  readonly type: KeyType;
}

/** Every key a `DaemonConfig` can manage, in the order the README lists them. */
export const DAEMON_KEYS = [
  { input: "ip", key: "ip", type: "string" },
  { input: "iptables", key: "iptables", type: "boolean" },
  { input: "ip6tables", key: "ip6tables", type: "boolean" },
  { input: "ipv6", key: "ipv6", type: "boolean" },
  { input: "userlandProxy", key: "userland-proxy", type: "boolean" },
  { input: "ipMasq", key: "ip-masq", type: "boolean" },
  { input: "icc", key: "icc", type: "boolean" },
  { input: "ipForward", key: "ip-forward", type: "boolean" },
  { input: "liveRestore", key: "live-restore", type: "boolean" },
  { input: "allowDirectRouting", key: "allow-direct-routing", type: "boolean" },
  { input: "firewallBackend", key: "firewall-backend", type: "string" },
] as const satisfies readonly DaemonKey[];

/** A resource input that maps to a daemon.json key. */
export type DaemonKeyInput = (typeof DAEMON_KEYS)[number]["input"];

/** A value a managed key may hold. */
export type KeyValue = boolean | string;

/** The daemon.json keys and values the arguments set, in table order (inputs left out are not managed). */
export function managedValues(args: Readonly<Partial<Record<DaemonKeyInput, KeyValue>>>): Record<string, KeyValue> {
  const out: Record<string, KeyValue> = {};
  for (const k of DAEMON_KEYS) if (args[k.input] !== undefined) out[k.key] = args[k.input]!;
  return out;
}

/** The table entry of a daemon.json key. */
export function keyOf(daemonKey: string): DaemonKey | undefined {
  return DAEMON_KEYS.find((k) => k.key === daemonKey);
}
