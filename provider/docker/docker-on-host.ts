import type { Family } from "../family";
import type { Snapshot } from "../host-session";
import { dockerLayout, type DockerLayout } from "./layout";
import { publishedPorts, type PublishedMapping } from "./published-ports";

/**
 * Docker's layout in a family of the host as read: from its nftables table
 * where Docker runs its firewall on nftables there (Docker 29's nftables
 * backend: no DOCKER-USER, no jump), else from its iptables rules.
 */
export function dockerLayoutOf(snapshot: Snapshot, family: Family): DockerLayout {
  const nft = snapshot.nft.docker[family];
  if (!nft) return dockerLayout(snapshot[family]);
  return { managed: true, dockerJump: false, bridges: nft.bridges, firstDockerForwardRule: undefined, directAccessDropped: nft.directAccessDropped };
}

/** The ports Docker publishes in a family of the host as read: its nftables DNAT rules where it runs on nftables there, else its iptables ones. */
export function publishedPortsOf(snapshot: Snapshot, family: Family): PublishedMapping[] {
  const nft = snapshot.nft.docker[family];
  return nft ? [...nft.published] : publishedPorts(snapshot[family], family);
}
