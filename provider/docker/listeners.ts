import type { Family } from "../family";

/**
 * The host's listening sockets, as `ss -Hltunp` prints them: how a port is
 * served when it is not DNATed to a container (Docker's docker-proxy on
 * `[::]:PORT` for an IPv4-only bridge, or on every address when a family's
 * iptables is off). Those connections are delivered locally: they pass
 * filter INPUT, never FORWARD or DOCKER-USER.
 */

/** One listening socket. */
export interface Listener {
  readonly protocol: "tcp" | "udp";
  readonly family: Family;
  /** The local address without brackets or `%interface`: `0.0.0.0`, `::`, `127.0.0.1`. */
  readonly address: string;
  readonly port: number;
  /** The first process name ss shows (`docker-proxy`), when it shows one. */
  readonly process: string | undefined;
}

/** The process that serves published ports on Docker's behalf. */
export const DOCKER_PROXY = "docker-proxy";

/**
 * Parses `ss -Hltunp` output (`Netid State Recv-Q Send-Q Local Peer Process`);
 * a dual-stack wildcard `*:PORT` is one listener per family; lines it cannot
 * read are skipped.
 */
export function parseListeners(text: string): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6 || (fields[0] !== "tcp" && fields[0] !== "udp")) continue;
    const m = /^(\[([^\]]*)\]|([^\s]*?)):(\d+)$/.exec(fields[4]);
    if (!m) continue;
    const address = (m[2] ?? m[3]).replace(/%.*$/, "");
    const process = /users:\(\("([^"]+)"/.exec(fields.slice(6).join(" "))?.[1];
    const common = { protocol: fields[0], port: Number(m[4]), process } as const;
    if (address === "*") out.push({ ...common, family: "ipv4", address: "0.0.0.0" }, { ...common, family: "ipv6", address: "::" });
    else out.push({ ...common, family: m[2] !== undefined ? "ipv6" : "ipv4", address });
  }
  return out;
}
