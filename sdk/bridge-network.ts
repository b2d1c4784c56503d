import * as pulumi from "@pulumi/pulumi";
import { ownerKey, secretConnection, type ConnectionArgs } from "./connection";
import { engineProvider } from "./engine-provider";

/**
 * Arguments of a {@link BridgeNetwork}. Every value is validated before
 * anything reaches the host; an unknown key is refused (naming the key it
 * most likely meant). Docker cannot change a network in place: changing
 * anything but `allowOutboundTo` and `allowInboundFrom` replaces it.
 */
export interface BridgeNetworkArgs {
  /**
   * The host to manage, over SSH.
   * @default the machine the Pulumi program runs on
   */
  readonly connection?: pulumi.Input<ConnectionArgs>;
  /**
   * Which firewall the policy's rules live in: `iptables` (DOCKER-USER),
   * `nftables` (this package's own nftables tables, for Docker 29's
   * nftables backend), or `auto`: the one Docker runs on.
   * @default "auto"
   */
  readonly firewall?: pulumi.Input<"auto" | "iptables" | "nftables">;
  /**
   * Which iptables to drive for the policy's rules: the host's default `iptables` (`auto`), or the `nft` or `legacy` variant by name.
   * @default "auto"
   */
  readonly iptablesBackend?: pulumi.Input<"auto" | "nft" | "legacy">;
  /** The Docker network's name (a letter or digit, then letters, digits, `_`, `.`, `-`). */
  readonly networkName: pulumi.Input<string>;
  /**
   * The IPv4 subnet, a CIDR network without host bits, e.g. `"192.0.2.0/24"`.
   * @default one Docker picks from its address pools (the `subnet` output)
   */
  readonly subnet?: pulumi.Input<string>;
  /**
   * The bridge's IPv4 address in `subnet` (needs `subnet`).
   * @default the subnet's first address
   */
  readonly gateway?: pulumi.Input<string>;
  /**
   * The part of `subnet` containers get addresses from (needs `subnet`).
   * @default the whole subnet
   */
  readonly ipRange?: pulumi.Input<string>;
  /**
   * The bridge interface's name (`com.docker.network.bridge.name`), at most 15 characters; every rule of Docker's and ours names it.
   * @default `br-` and the first 12 characters of the network's id (the `bridgeName` output)
   */
  readonly bridgeName?: pulumi.Input<string>;
  /**
   * The address ports published on this network without one are bound to (`com.docker.network.bridge.host_binding_ipv4`).
   * @default every address ("0.0.0.0")
   */
  readonly hostBindingIpv4?: pulumi.Input<string>;
  /**
   * Whether the network's containers may reach each other (`com.docker.network.bridge.enable_icc`).
   * @default true
   */
  readonly icc?: pulumi.Input<boolean>;
  /**
   * Whether traffic leaving the network is masqueraded (`com.docker.network.bridge.enable_ip_masquerade`).
   * @default true
   */
  readonly masquerade?: pulumi.Input<boolean>;
  /**
   * No traffic between the network and anything outside it (`--internal`).
   * @default false
   */
  readonly internal?: pulumi.Input<boolean>;
  /**
   * The bridge's MTU (`com.docker.network.driver.mtu`).
   * @default the daemon's default (1500)
   */
  readonly mtu?: pulumi.Input<number>;
  /**
   * IPv6 on the network (`--ipv6`); the policy's rules then cover both families.
   * @default false
   */
  readonly ipv6?: pulumi.Input<boolean>;
  /**
   * The IPv6 subnet (needs `ipv6`).
   * @default one Docker picks (needs default IPv6 pools in daemon.json)
   */
  readonly subnetV6?: pulumi.Input<string>;
  /**
   * Labels on the network.
   * @default {}
   */
  readonly labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * The daemon's address, as `docker -H` takes it.
   * @default Docker's own default (`DOCKER_HOST`, else unix:///var/run/docker.sock)
   */
  readonly dockerHost?: pulumi.Input<string>;
  /**
   * Policy: the only destinations outside the network its containers may
   * open connections to (addresses or CIDR networks); replies always pass,
   * and traffic between the network's own containers is left to `icc`.
   * Changing it updates the rules in place.
   * @default no restriction (Docker's own rules decide)
   */
  readonly allowOutboundTo?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Policy: the only sources that may open connections into the network's
   * containers, through published ports or routed; replies always pass.
   * Changing it updates the rules in place.
   * @default no restriction (Docker's own rules decide)
   */
  readonly allowInboundFrom?: pulumi.Input<pulumi.Input<string>[]>;
}

const provider = engineProvider("bridgeNetwork");

/**
 * A Docker bridge network, made and removed with the `docker` CLI on the
 * host, and its traffic policy as DOCKER-USER rules keyed on its bridge
 * interface (in both families where it has IPv6), applied in one atomic
 * transaction like every rule of this package. `pulumi refresh` reports the
 * network gone or changed and rules missing or out of place; `pulumi
 * destroy` removes the network (refusing, with their names, while
 * containers use it) and exactly its rules.
 */
export class BridgeNetwork extends pulumi.dynamic.Resource {
  /** The network's id. */
  declare readonly networkId: pulumi.Output<string>;
  /** The bridge interface's name, as Docker uses it. */
  declare readonly bridgeName: pulumi.Output<string>;
  /** The IPv4 subnet, as Docker assigned it. */
  declare readonly subnet: pulumi.Output<string | undefined>;
  /** Per family, per table, the rules Docker made for this bridge, as `iptables-save` prints them. */
  declare readonly dockerRules: pulumi.Output<{ ipv4?: Record<string, string[]>; ipv6?: Record<string, string[]> }>;
  /** What `refresh` found different from the declaration; empty when in sync. */
  declare readonly drift: pulumi.Output<string[]>;
  /** What the policy does not cover on this host, in words. */
  declare readonly warnings: pulumi.Output<string[]>;

  /**
   * @param name resource name; also names the policy rules' owner tag (letters, digits, `.`, `_`, `-`)
   * @param args the network and its policy
   * @param opts resource options
   */
  constructor(name: string, args: BridgeNetworkArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { networkId: undefined, dockerRules: undefined, drift: undefined, warnings: undefined };
    const props = { ...args, connection: secretConnection(args.connection), __owner: ownerKey("network", name), ...outputs };
    super(provider, name, props, opts, "pulumi-docker-firewall", "BridgeNetwork");
  }
}
