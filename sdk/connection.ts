import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/**
 * How to reach a remote host over SSH: the same object `@pulumi/command`'s
 * `remote.Command` takes, so one connection serves both, plus `sudo`.
 * Omit it on a resource to manage the machine the program runs on.
 *
 * The whole connection is stored as a secret, so `privateKey` and
 * `password` never appear in plain text in the stack state.
 */
export interface ConnectionArgs extends command.types.input.remote.ConnectionArgs {
  /**
   * Run every command through `sudo -n`, for a non-root user with
   * passwordless sudo.
   * @default false
   */
  readonly sudo?: pulumi.Input<boolean>;
}

/** The resource-wide arguments every resource of this package takes. */
export interface TargetArgs {
  /**
   * The host to manage, over SSH.
   * @default the machine the Pulumi program runs on
   */
  readonly connection?: pulumi.Input<ConnectionArgs>;
  /**
   * Which firewall the rules live in: `iptables` (Docker's DOCKER-USER
   * chain, and INPUT), or `nftables` (a table of this package's own,
   * `pulumi-docker-firewall` in the `ip` and `ip6` families, with base
   * chains on the forward and input hooks before Docker's, for Docker 29's
   * nftables backend, which has no DOCKER-USER). `auto` follows Docker: the
   * nftables tables when Docker's `docker-bridges` tables exist on the host,
   * else iptables; when Docker moves to the other backend, the next `up`
   * moves the rules with it.
   * @default "auto"
   */
  readonly firewall?: pulumi.Input<"auto" | "iptables" | "nftables">;
  /**
   * Which iptables to drive: the host's default `iptables` (`auto`), or
   * the `nft` or `legacy` variant by name.
   * @default "auto"
   */
  readonly iptablesBackend?: pulumi.Input<"auto" | "nft" | "legacy">;
}

/** Marks a connection secret (it may hold a key or password). */
export function secretConnection(connection: pulumi.Input<ConnectionArgs> | undefined): pulumi.Input<ConnectionArgs> | undefined {
  return connection === undefined ? undefined : pulumi.secret(connection);
}

const ownersInThisProgram = new Set<string>();

/** The resource class that owns rules of each kind, for messages. */
const RESOURCE_OF_KIND = { rule: "DockerUserRule", port: "PublishedPort", network: "BridgeNetwork", default: "PublishedPortDefault" } as const;

/**
 * The owner key that tags this resource's rules: `<project>/<stack>/<kind>/<name>`.
 * Two resources of one kind with one name (under different parents) would
 * own each other's rules, so that is refused when the program declares them.
 */
export function ownerKey(kind: keyof typeof RESOURCE_OF_KIND, name: string): string {
  const key = `${pulumi.getProject()}/${pulumi.getStack()}/${kind}/${name}`;
  if (ownersInThisProgram.has(key)) {
    throw new Error(`pulumi-docker-firewall: two ${RESOURCE_OF_KIND[kind]} resources are named "${name}"; their rules would be indistinguishable on the host, so give each a name of its own`);
  }
  ownersInThisProgram.add(key);
  return key;
}
