import * as pulumi from "@pulumi/pulumi";
import { ownerKey, secretConnection, type TargetArgs } from "./connection";
import { engineProvider } from "./engine-provider";

/**
 * Arguments of a {@link DockerUserRule}. Every string is validated before
 * anything reaches the host; an unknown key is refused (naming the key it
 * most likely meant), and so is a network with host bits set (`10.1.2.3/8`
 * for `10.0.0.0/8`), which iptables would silently change.
 */
export interface DockerUserRuleArgs extends TargetArgs {
  /**
   * Which firewalls get the rule: `iptables` (`ipv4`), `ip6tables` (`ipv6`) or both.
   * @default inferred from the addresses or ICMP protocol; "both" when there is none
   */
  readonly family?: pulumi.Input<"ipv4" | "ipv6" | "both">;
  /**
   * Our rules sit at the top of DOCKER-USER ordered by priority (0–999, lower
   * first), then by resource name, whatever order Pulumi creates them in.
   * @default 500
   */
  readonly priority?: pulumi.Input<number>;
  /** What to do with a matching packet. */
  readonly action: pulumi.Input<"ACCEPT" | "DROP" | "REJECT" | "RETURN">;
  /** Source address or CIDR (`-s`); a leading `!` negates. */
  readonly source?: pulumi.Input<string>;
  /** Destination address or CIDR (`-d`); after Docker's DNAT this is the container's address. A leading `!` negates. */
  readonly destination?: pulumi.Input<string>;
  /** Source address range `first-last` (`-m iprange --src-range`); a leading `!` negates. */
  readonly sourceRange?: pulumi.Input<string>;
  /** Destination address range `first-last` (`-m iprange --dst-range`); a leading `!` negates. */
  readonly destinationRange?: pulumi.Input<string>;
  /** Interface the packet arrived on (`-i`): 1–15 letters, digits, `_`, `.` or `-`, not starting with `-`; `+` at the end is a wildcard, a leading `!` negates. */
  readonly inInterface?: pulumi.Input<string>;
  /** Interface the packet leaves by (`-o`), named as for `inInterface`; `+` at the end is a wildcard, a leading `!` negates. */
  readonly outInterface?: pulumi.Input<string>;
  /**
   * Protocol (`-p`). `icmp` implies IPv4 and `icmpv6` IPv6.
   * @default "all"
   */
  readonly protocol?: pulumi.Input<"tcp" | "udp" | "icmp" | "icmpv6" | "all">;
  /**
   * Destination port after DNAT (the container's port): a port, a range
   * `"8000:8010"`, or a list of up to 15 (multiport). Needs `protocol` tcp or udp.
   */
  readonly destinationPort?: pulumi.Input<number | string | (number | string)[]>;
  /** Source address the connection originally had (`-m conntrack --ctorigsrc`); a leading `!` negates. */
  readonly originalSource?: pulumi.Input<string>;
  /** Destination address the client asked for, before DNAT (`--ctorigdst`); a leading `!` negates. */
  readonly originalDestination?: pulumi.Input<string>;
  /**
   * Destination port the client asked for, before DNAT: the published host
   * port (`--ctorigdstport`). A port or a range `"8000:8010"`. This keeps
   * working when a container is recreated with a new address.
   */
  readonly originalDestinationPort?: pulumi.Input<number | string>;
  /** Connection states to match (`-m conntrack --ctstate`), each at most once. */
  readonly ctstate?: pulumi.Input<pulumi.Input<"INVALID" | "NEW" | "RELATED" | "ESTABLISHED" | "UNTRACKED" | "SNAT" | "DNAT">[]>;
  /**
   * Your comment, kept in the rule after our ownership tag: at most 128
   * characters, each a letter, digit, space or one of `. , : / _ + = @ % # -`
   * (no quotes, newlines or shell metacharacters). iptables keeps at most 255
   * characters of comment, and the tag
   * (`pdf:<project>/<stack>/rule/<name>:<priority>:0`) and a space come
   * first, so long project, stack or resource names leave less room.
   */
  readonly comment?: pulumi.Input<string>;
}

const provider = engineProvider("dockerUserRule");

/**
 * A rule in Docker's `DOCKER-USER` chain, in iptables and/or ip6tables.
 * `pulumi up` inserts it (creating the chain and FORWARD's jump to it when
 * missing) in one atomic transaction; `pulumi refresh` reports it missing,
 * altered or out of place; `pulumi destroy` removes it and nothing else.
 */
export class DockerUserRule extends pulumi.dynamic.Resource {
  /** Per family, the rule exactly as `iptables-save` prints it on the host. */
  declare readonly ruleText: pulumi.Output<{ ipv4?: string; ipv6?: string }>;
  /** What `refresh` found different from the declaration; empty when in sync. */
  declare readonly drift: pulumi.Output<string[]>;
  /**
   * What the rule does not see on this host, in words: a family where Docker
   * writes no rules, a jump to DOCKER-USER that a dockerd restart may move,
   * and ports docker-proxy serves (through INPUT, never DOCKER-USER).
   */
  declare readonly warnings: pulumi.Output<string[]>;

  /**
   * @param name resource name; also names the rule's owner tag (letters, digits, `.`, `_`, `-`)
   * @param args what the rule matches and does
   * @param opts resource options
   */
  constructor(name: string, args: DockerUserRuleArgs, opts?: pulumi.CustomResourceOptions) {
    const props = { ...args, connection: secretConnection(args.connection), __owner: ownerKey("rule", name), ruleText: undefined, drift: undefined, warnings: undefined };
    super(provider, name, props, opts, "pulumi-docker-firewall", "DockerUserRule");
  }
}
