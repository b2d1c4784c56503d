import type { DaemonKeyInput, KeyValue } from "./daemon-keys";

/** What decides a `DaemonConfig`'s impact: its managed inputs and its restart policy. */
export interface ImpactInput extends Readonly<Partial<Record<DaemonKeyInput, KeyValue>>> {
  readonly restart?: "never" | "if-changed";
}

/**
 * What applying these daemon.json values does to the host and its
 * containers, in words, for the preview (`impact`); computed from the
 * inputs alone, without reading the host.
 */
export function impactOf(args: ImpactInput): string[] {
  const out: string[] = [];
  out.push(
    args.restart === "if-changed"
      ? "dockerd must be restarted for these keys to take effect (none is reloaded on SIGHUP): this resource restarts it when the file's managed keys change"
      : 'dockerd must be restarted for these keys to take effect (none is reloaded on SIGHUP); with restart "never" that is left to you (`restartRequired` says when)',
  );
  if (args.liveRestore !== true) {
    out.push("liveRestore is not set to true here: unless daemon.json already has \"live-restore\": true, restarting dockerd stops every running container (those with a restart policy start again, maybe with new addresses)");
  }
  if (args.iptables === false) {
    out.push('iptables: false: dockerd writes no IPv4 rules (no DNAT, no MASQUERADE, no isolation, no FORWARD DROP policy): container networking needs rules made by someone else; published ports are NOT closed: docker-proxy still serves them on every address, through INPUT');
  }
  if (args.ip6tables === false) {
    out.push("ip6tables: false: dockerd writes no IPv6 rules: IPv6 container networking needs rules made by someone else; docker-proxy still serves published ports on [::], through INPUT");
  }
  if (args.ip !== undefined) {
    out.push(`ip: ${args.ip} becomes the address of ports published without one on the default bridge only (user-defined networks use com.docker.network.bridge.host_binding_ipv4); a container takes it when it starts`);
  }
  if (args.firewallBackend === "nftables") {
    out.push('firewallBackend: "nftables": dockerd does not enable forwarding and refuses to start unless net.ipv4.ip_forward=1 (and net.ipv6.conf.all.forwarding=1 for IPv6) is set before it starts, e.g. in /etc/sysctl.d; it writes no DOCKER-USER chain (its own nftables tables instead): the rules of resources with firewall "auto" move to our own nftables tables at their next `up` (and back to DOCKER-USER when it returns to iptables)');
  }
  if (args.firewallBackend === "iptables") {
    out.push('firewallBackend: "iptables": dockerd writes DOCKER-USER and its iptables rules again; the rules of resources with firewall "auto" move from our nftables tables to DOCKER-USER at their next `up`');
  }
  return out;
}
