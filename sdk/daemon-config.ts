import * as pulumi from "@pulumi/pulumi";
import { secretConnection, type ConnectionArgs } from "./connection";
import { engineProvider } from "./engine-provider";

/**
 * Arguments of a {@link DaemonConfig}. Each daemon.json key is optional and
 * managed only when given; at least one must be. Every value is validated
 * before anything reaches the host; an unknown key is refused (naming the
 * key it most likely meant).
 */
export interface DaemonConfigArgs {
  /**
   * The host to manage, over SSH.
   * @default the machine the Pulumi program runs on
   */
  readonly connection?: pulumi.Input<ConnectionArgs>;
  /**
   * Which iptables to read the daemon's chains with (for `effective`).
   * @default "auto"
   */
  readonly iptablesBackend?: pulumi.Input<"auto" | "nft" | "legacy">;
  /**
   * The daemon's config file; the previous content is kept beside it as `<path>.bak`.
   * @default "/etc/docker/daemon.json"
   */
  readonly path?: pulumi.Input<string>;
  /**
   * The daemon's address, as `docker -H` takes it, for every call to the daemon.
   * @default Docker's own default (`DOCKER_HOST`, else unix:///var/run/docker.sock)
   */
  readonly dockerHost?: pulumi.Input<string>;
  /**
   * `"if-changed"`: restart the daemon when the file's managed keys change
   * (or a restart is still pending) and wait until it answers; `"never"`:
   * leave that to you (`restartRequired` says when one is needed).
   * @default "never"
   */
  readonly restart?: pulumi.Input<"never" | "if-changed">;
  /**
   * The command (argv, no shell) that restarts the daemon.
   * @default ["systemctl", "restart", "docker"], or `service docker restart` where systemd is not running
   */
  readonly restartCommand?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * `"ip"`: the default address of ports published without one, on the default bridge only.
   * @default not managed (Docker's default: every address)
   */
  readonly ip?: pulumi.Input<string>;
  /**
   * `"iptables"`: whether dockerd writes IPv4 rules. `false` does not close published ports (docker-proxy serves them).
   * @default not managed (Docker's default: true)
   */
  readonly iptables?: pulumi.Input<boolean>;
  /**
   * `"ip6tables"`: whether dockerd writes IPv6 rules.
   * @default not managed (Docker's default: true from 27.0, false before)
   */
  readonly ip6tables?: pulumi.Input<boolean>;
  /**
   * `"ipv6"`: IPv6 on the default bridge.
   * @default not managed (Docker's default: false)
   */
  readonly ipv6?: pulumi.Input<boolean>;
  /**
   * `"userland-proxy"`: docker-proxy for published ports (false: hairpin NAT rules instead).
   * @default not managed (Docker's default: true)
   */
  readonly userlandProxy?: pulumi.Input<boolean>;
  /**
   * `"ip-masq"`: MASQUERADE for the default bridge.
   * @default not managed (Docker's default: true)
   */
  readonly ipMasq?: pulumi.Input<boolean>;
  /**
   * `"icc"`: traffic between containers on the default bridge.
   * @default not managed (Docker's default: true)
   */
  readonly icc?: pulumi.Input<boolean>;
  /**
   * `"ip-forward"`: whether dockerd enables forwarding (and sets FORWARD's policy to DROP).
   * @default not managed (Docker's default: true)
   */
  readonly ipForward?: pulumi.Input<boolean>;
  /**
   * `"live-restore"`: containers keep running while the daemon restarts.
   * @default not managed (Docker's default: false)
   */
  readonly liveRestore?: pulumi.Input<boolean>;
  /**
   * `"allow-direct-routing"` (28.2+): no raw-table DROP of direct access to containers.
   * @default not managed (Docker's default: false)
   */
  readonly allowDirectRouting?: pulumi.Input<boolean>;
  /**
   * `"firewall-backend"` (29+). `"nftables"` needs forwarding enabled before the daemon starts.
   * @default not managed (Docker's default: "iptables")
   */
  readonly firewallBackend?: pulumi.Input<"iptables" | "nftables">;
}

const provider = engineProvider("daemonConfig");

/**
 * Some keys of Docker's daemon.json, and nothing else of the file: `pulumi
 * up` sets them in place (other keys, their values and the file's layout
 * stay; the previous content goes to `<path>.bak`), atomically under the
 * same host lock as every firewall change, and restarts the daemon when
 * `restart` is `"if-changed"`; `pulumi refresh` reports a managed key
 * edited by hand, the file gone, or a daemon that does not do what the
 * file says; `pulumi destroy` puts back the values the keys had before.
 * A file that is not valid JSON, or holds a managed key of the wrong type,
 * is never overwritten.
 */
export class DaemonConfig extends pulumi.dynamic.Resource {
  /** What applying these values does, in words (restart, containers, published ports); computed at preview. */
  declare readonly impact: pulumi.Output<string[]>;
  /** Per managed daemon.json key, the value it had before this resource (`null`: absent); `destroy` puts these back. */
  declare readonly previous: pulumi.Output<Record<string, boolean | string | null>>;
  /** Whether the file changed and the daemon has not been restarted since. */
  declare readonly restartRequired: pulumi.Output<boolean>;
  /** What the running daemon actually uses, read from the host: `running`, `version`, `liveRestore`, `iptables`/`ip6tables` (its chains exist), `publishedOn` (the default bridge's DNAT addresses). */
  declare readonly effective: pulumi.Output<{ running: boolean; version?: string; liveRestore?: boolean; iptables?: boolean; ip6tables?: boolean; publishedOn: string[] }>;
  /** What `refresh` found different from the declaration; empty when in sync. */
  declare readonly drift: pulumi.Output<string[]>;

  /**
   * @param name resource name
   * @param args the keys to manage and how to restart the daemon
   * @param opts resource options
   */
  constructor(name: string, args: DaemonConfigArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { impact: undefined, previous: undefined, restartRequired: undefined, effective: undefined, drift: undefined };
    super(provider, name, { ...args, connection: secretConnection(args.connection), ...outputs }, opts, "pulumi-docker-firewall", "DaemonConfig");
  }
}
