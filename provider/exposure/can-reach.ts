import type { Snapshot } from "../host-session";
import { iptablesView } from "./nftables-view";
import { addressValue, isAddressOf } from "./address-set";
import type { DecidingRule } from "./chain-walk";
import { fixed, followConnection, type ServicePath } from "./connection-path";

/** A question about one client. */
export interface CanReachQuestion {
  /** The client's address; its family is the family asked about. */
  readonly from: string;
  /**
   * The interface its packets come in on.
   * @default an interface no rule names
   */
  readonly inInterface?: string;
  /**
   * The host address it connects to, in the client's family.
   * @default one of the host's addresses that no rule names
   */
  readonly to?: string;
  readonly port: number;
  /** @default "tcp" */
  readonly protocol?: "tcp" | "udp";
}

/** Whether one client can open a connection, and why. */
export interface CanReachAnswer {
  /** `true` when the connection can be established (its first packet is delivered and the reply gets back), `false` when not, `null` when a rule that decides is not understood. */
  readonly reachable: boolean | null;
  /** `forward` (DNAT to a container), `proxy` (a local socket: docker-proxy or another service), `null` when nothing serves the port or the packet is stopped before the routing decision. */
  readonly path: ServicePath | null;
  /** The rule that decided: the one that dropped, was not understood, or accepted the first packet in the filter table. */
  readonly decidedBy?: DecidingRule;
  /** The whole story in one sentence, with the assumptions made. */
  readonly reason: string;
}

/** The question is not one the evaluator can ask: an address that is not one, families that differ. */
export class CanReachQuestionError extends Error {
  override readonly name = "CanReachQuestionError";
}

/**
 * Whether a client can open a new connection to a port of the host, the
 * way the kernel would handle it with the snapshot's rules (see
 * `followConnection` for the hooks and assumptions; on Docker's nftables
 * backend, its tables and ours are read as iptables rules, see
 * nftables-view.ts).
 * @throws CanReachQuestionError for an address that is not one, or `to` in another family than `from`
 */
export function canReach(read: Snapshot, question: CanReachQuestion): CanReachAnswer {
  const snapshot = iptablesView(read);
  const family = isAddressOf(question.from, "ipv4") ? "ipv4" : isAddressOf(question.from, "ipv6") ? "ipv6" : undefined;
  if (!family) throw new CanReachQuestionError(`--from ${question.from} is not an IPv4 or IPv6 address`);
  if (question.to !== undefined && !isAddressOf(question.to, family)) throw new CanReachQuestionError(`--to ${question.to} is not an ${family} address like --from ${question.from}`);
  if (!Number.isInteger(question.port) || question.port < 1 || question.port > 65535) throw new CanReachQuestionError(`port ${question.port} is not a port (1-65535)`);
  const value = addressValue(question.from);
  const [outcome] = followConnection(snapshot, {
    family,
    protocol: question.protocol ?? "tcp",
    port: question.port,
    destination: question.to === undefined ? { kind: "host" } : fixed(question.to, true),
    inInterface: question.inInterface ?? "\0",
    clients: [{ first: value, last: value }],
  });
  const assumed = [
    ...(question.to === undefined ? ["to an address of the host's that no rule names"] : []),
    ...(question.inInterface === undefined ? ["in on an interface no rule names"] : []),
  ];
  const reason = assumed.length > 0 ? `${outcome.reason} (assuming a connection ${assumed.join(", ")})` : outcome.reason;
  return { reachable: outcome.reachable, path: outcome.path, ...(outcome.decidedBy ? { decidedBy: outcome.decidedBy } : {}), reason };
}
