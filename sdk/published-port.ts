import * as pulumi from "@pulumi/pulumi";
import { ownerKey, secretConnection, type TargetArgs } from "./connection";
import { engineProvider } from "./engine-provider";

/**
 * Arguments of a {@link PublishedPort}. Every string is validated before
 * anything reaches the host, and an unknown key is refused (naming the key
 * it most likely meant).
 */
export interface PublishedPortArgs extends TargetArgs {
  /** The host port a container is published on (`-p 8080:80` → 8080), or a range `"8000:8010"`. */
  readonly hostPort: pulumi.Input<number | string>;
  /**
   * The published port's protocol.
   * @default "tcp"
   */
  readonly protocol?: pulumi.Input<"tcp" | "udp">;
  /** Addresses and networks (IPv4 or IPv6, no host bits set, at most 200) that may connect; everyone else is dropped. Empty means nobody from outside. */
  readonly allowFrom: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * The interface outside traffic arrives on (e.g. `eth0`). When omitted the
   * allowlist applies on every interface, containers on other bridges included.
   */
  readonly inInterface?: pulumi.Input<string>;
  /**
   * Which families get the final DROP. The ACCEPTs follow their addresses.
   * @default "both"
   */
  readonly family?: pulumi.Input<"ipv4" | "ipv6" | "both">;
  /**
   * Position among our rules at the top of DOCKER-USER and INPUT (0–999, lower first).
   * @default 500
   */
  readonly priority?: pulumi.Input<number>;
  /**
   * Your comment, kept in each rule after our ownership tag: at most 128
   * characters, each a letter, digit, space or one of `. , : / _ + = @ % # -`
   * (no quotes, newlines or shell metacharacters). iptables keeps at most 255
   * characters of comment, and the tag
   * (`pdf:<project>/<stack>/port/<name>:<priority>:<index>`) and a space come
   * first, so long project, stack or resource names leave less room.
   */
  readonly comment?: pulumi.Input<string>;
}

const provider = engineProvider("publishedPort");

/**
 * An allowlist for a port Docker publishes: only `allowFrom` may open
 * connections to it, on every path the host serves it: forwarded after
 * Docker's DNAT (DOCKER-USER, keyed on the host port through conntrack, so
 * it keeps working when the container is recreated with a new address),
 * delivered to docker-proxy (INPUT: `[::]:PORT` for an IPv4-only bridge,
 * every port when a family's iptables is off), and routed straight to the
 * container's address where Docker leaves that open (20.10, 26).
 */
export class PublishedPort extends pulumi.dynamic.Resource {
  /** Per family, the rules exactly as `iptables-save` prints them, one per line. */
  declare readonly ruleText: pulumi.Output<{ ipv4?: string; ipv6?: string }>;
  /** What `refresh` found different from the declaration; empty when in sync. */
  declare readonly drift: pulumi.Output<string[]>;
  /** Whether Docker publishes the port at all (a DNAT rule, or docker-proxy listening on it). */
  declare readonly published: pulumi.Output<boolean>;
  /** The addresses the port is served on, by DNAT or by a listening process (`0.0.0.0` / `::` mean every address). */
  declare readonly bindAddresses: pulumi.Output<string[]>;
  /** Where Docker forwards it: container address and port. */
  declare readonly targets: pulumi.Output<string[]>;
  /**
   * Every way the host serves the port, read from its DNAT rules and listening
   * sockets: per entry the family, the path (`forward`: DNAT to a container;
   * `proxy`: delivered to the host, e.g. docker-proxy; `direct`: routed to the
   * container's own address), the address, the port and what serves it.
   */
  declare readonly served: pulumi.Output<{ family: "ipv4" | "ipv6"; path: "forward" | "proxy" | "direct"; address: string; port: string; by: string }[]>;
  /** Per family, the paths whose DROP of ours is in place and reached. A served path missing here is reported as `drift`. */
  declare readonly guardedPaths: pulumi.Output<{ ipv4: string[]; ipv6: string[] }>;
  /** What is and is not enforced on this host, in words (a family without Docker's rules, a jump Docker may move). */
  declare readonly warnings: pulumi.Output<string[]>;

  /**
   * @param name resource name; also names the rules' owner tag (letters, digits, `.`, `_`, `-`)
   * @param args the port and who may reach it
   * @param opts resource options
   */
  constructor(name: string, args: PublishedPortArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { ruleText: undefined, drift: undefined, published: undefined, bindAddresses: undefined, targets: undefined, served: undefined, guardedPaths: undefined, warnings: undefined };
    super(provider, name, { ...args, connection: secretConnection(args.connection), __owner: ownerKey("port", name), ...outputs }, opts, "pulumi-docker-firewall", "PublishedPort");
  }
}
