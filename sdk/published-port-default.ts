import * as pulumi from "@pulumi/pulumi";
import { ownerKey, secretConnection, type TargetArgs } from "./connection";
import { engineProvider } from "./engine-provider";

/**
 * Arguments of a {@link PublishedPortDefault}. An unknown key is refused
 * (naming the key it most likely meant).
 */
export interface PublishedPortDefaultArgs extends TargetArgs {
  /**
   * The interface outside clients come in on (e.g. `eth0`): only connections
   * arriving there are closed. When omitted, connections from every
   * interface but Docker's own bridges and loopback are closed.
   */
  readonly inInterface?: pulumi.Input<string>;
  /**
   * Which families to close.
   * @default "both"
   */
  readonly family?: pulumi.Input<"ipv4" | "ipv6" | "both">;
  /**
   * Position among our rules (0–999, lower first). Keep it above the
   * priority of every `PublishedPort` that allows a source, so their
   * ACCEPTs come first.
   * @default 999
   */
  readonly priority?: pulumi.Input<number>;
  /** Your comment, kept in each rule after our ownership tag (the alphabet and length of `PublishedPort`'s `comment`). */
  readonly comment?: pulumi.Input<string>;
}

const provider = engineProvider("publishedPortDefault");

/**
 * Closed by default: every port Docker publishes on the host is closed to
 * outside clients on every path (after Docker's DNAT, straight to a
 * container's address, and through docker-proxy), unless a
 * {@link PublishedPort} allows a source. Ports published later are closed
 * too without another `up` (on the DNAT and direct paths; a port that only
 * docker-proxy serves shows as `drift` until the next `up`). Containers
 * reaching published ports from Docker's own bridges are not affected.
 */
export class PublishedPortDefault extends pulumi.dynamic.Resource {
  /** Per family, the rules exactly as the firewall prints them, one per line. */
  declare readonly ruleText: pulumi.Output<{ ipv4?: string; ipv6?: string }>;
  /** What `refresh` found different from the declaration; empty when in sync. */
  declare readonly drift: pulumi.Output<string[]>;
  /** Every way the host serves a published port (see `PublishedPort.served`). */
  declare readonly served: pulumi.Output<{ family: "ipv4" | "ipv6"; path: "forward" | "proxy" | "direct"; address: string; port: string; by: string }[]>;
  /** Per family, the paths whose DROP of this resource is in place and reached. */
  declare readonly closedPaths: pulumi.Output<{ ipv4: string[]; ipv6: string[] }>;

  /**
   * @param name resource name; also names the rules' owner tag (letters, digits, `.`, `_`, `-`)
   * @param args where, and on which interface
   * @param opts resource options
   */
  constructor(name: string, args: PublishedPortDefaultArgs = {}, opts?: pulumi.CustomResourceOptions) {
    const outputs = { ruleText: undefined, drift: undefined, served: undefined, closedPaths: undefined };
    super(provider, name, { ...args, connection: secretConnection(args.connection), __owner: ownerKey("default", name), ...outputs }, opts, "pulumi-docker-firewall", "PublishedPortDefault");
  }
}
