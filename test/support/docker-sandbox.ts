import { DockerDaemon, type HttpdContainer } from "./docker-daemon";
import { needsForwardingBeforeStart, type DockerEngine, type FirewallBackend } from "./docker-engines";
import { link, Netns } from "./netns";

/**
 * A Docker host with outside clients, all in network namespaces made for the
 * test: a target namespace T running a real dockerd, and N client namespaces,
 * each joined to T by its own veth pair and routed through T. Packets never
 * leave these namespaces.
 *
 * ```
 *  client 0 (uplink 203.0.113.161) ─── client0 (203.0.113.162) ┐
 *  client 1 (uplink 203.0.113.165) ─── client1 (203.0.113.166) ┤ T: dockerd, docker0
 *  …                                                           ┘
 * ```
 */

/** The first `link()` index used for clients; client i uses `FIRST_LINK_INDEX + i`. */
const FIRST_LINK_INDEX = 40;
/** `link()` accepts indexes up to 63. */
const MAX_CLIENTS = 64 - FIRST_LINK_INDEX;

/** Options for {@link DockerSandbox.start}. */
export interface DockerSandboxOptions {
  /**
   * How many client namespaces to make (1–24).
   * @default 2
   */
  readonly clients?: number;
  /**
   * The Docker engine T runs (see `docker-engines.ts`).
   * @default "20.10"
   */
  readonly engine?: DockerEngine;
  /**
   * Start the daemon with IPv6 on its default bridge and ip6tables rules.
   * Clients always get IPv6 addresses and routes.
   * @default true
   */
  readonly ipv6?: boolean;
  /**
   * More daemon.json keys for T's daemon, e.g. `{ "userland-proxy": false }`
   * (see `DockerDaemonOptions.daemonJson`).
   * @default {}
   */
  readonly daemonJson?: Readonly<Record<string, unknown>>;
  /**
   * T's daemon's firewall backend. With `"nftables"` (29 and later)
   * forwarding is turned on in T before the daemon starts, which that
   * backend needs.
   * @default "iptables"
   */
  readonly firewallBackend?: FirewallBackend;
}

/** The target namespace, with the names of its interfaces facing the clients. */
export type SandboxTarget = Netns & {
  /** `interfaces[i]` is T's side of client i's link: `client0`, `client1`, … */
  readonly interfaces: readonly string[];
};

/** One outside client of the Docker host. */
export interface SandboxClient {
  /** The client's namespace. */
  readonly ns: Netns;
  /** The client's IPv4 address (its source address for everything it sends). */
  readonly v4: string;
  /** The client's IPv6 address. */
  readonly v6: string;
  /** T's IPv4 address on this client's link (the client's default gateway). */
  readonly targetV4: string;
  /** T's IPv6 address on this client's link (the client's default gateway). */
  readonly targetV6: string;
  /** The name of T's interface on this client's link, e.g. for `iptables -i`. */
  readonly targetIf: string;
}

/** A Docker host in a namespace, reachable from client namespaces. */
export class DockerSandbox {
  private stopping: Promise<void> | undefined;

  private constructor(
    /** The Docker host's namespace. */
    readonly target: SandboxTarget,
    /** The dockerd running in {@link target}. */
    readonly daemon: DockerDaemon,
    /** The clients, in index order. */
    readonly clients: readonly SandboxClient[],
    private readonly undo: readonly (() => Promise<void>)[],
  ) {}

  /**
   * Creates T (with IPv6 duplicate address detection off for new
   * interfaces), starts the daemon in it, makes the clients and their links and
   * turns on forwarding in T: after the daemon has started, so that dockerd
   * enables it itself and sets the FORWARD policy to DROP, as on a real host;
   * before, for a backend that starts only with forwarding on (nftables).
   * When any step fails, removes what it made before rethrowing.
   */
  static async start(options: DockerSandboxOptions = {}): Promise<DockerSandbox> {
    const count = options.clients ?? 2;
    if (!Number.isInteger(count) || count < 1 || count > MAX_CLIENTS) {
      throw new Error(`clients must be an integer from 1 to ${MAX_CLIENTS}, got ${count}`);
    }
    const undo: (() => Promise<void>)[] = [];
    try {
      const target = await Netns.create("dkt");
      undo.push(() => target.delete());
      // docker0 would otherwise spend ~2 s in IPv6 duplicate address detection
      // before the first container answers over IPv6.
      await target.run(["sysctl", "-q", "-w", "net.ipv6.conf.default.accept_dad=0"]);
      // A new namespace copies the root namespace's forwarding setting; dockerd sets FORWARD's policy to
      // DROP (as on a real host) only when it finds forwarding off.
      const backend = options.firewallBackend ?? "iptables";
      const forwardingFirst = needsForwardingBeforeStart(backend) ? "1" : "0";
      await target.run(["sysctl", "-q", "-w", `net.ipv4.ip_forward=${forwardingFirst}`]);
      await target.run(["sysctl", "-q", "-w", `net.ipv6.conf.all.forwarding=${forwardingFirst}`]);
      const daemon = await DockerDaemon.start(target, {
        engine: options.engine,
        ipv6: options.ipv6 ?? true,
        daemonJson: options.daemonJson,
        firewallBackend: backend,
      });
      undo.push(() => daemon.stop());
      const clients: SandboxClient[] = [];
      for (let i = 0; i < count; i++) {
        const ns = await Netns.create(`dkc${i}`);
        undo.push(() => ns.delete());
        const targetIf = `client${i}`;
        const l = await link(ns, target, FIRST_LINK_INDEX + i, { aIf: "uplink", bIf: targetIf });
        await ns.run(["ip", "route", "add", "default", "via", l.bV4]);
        await ns.run(["ip", "-6", "route", "add", "default", "via", l.bV6]);
        clients.push({ ns, v4: l.aV4, v6: l.aV6, targetV4: l.bV4, targetV6: l.bV6, targetIf });
      }
      await target.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
      await target.run(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"]);
      const withInterfaces = Object.assign(target, { interfaces: clients.map((c) => c.targetIf) });
      return new DockerSandbox(withInterfaces, daemon, clients, undo);
    } catch (error) {
      const cleanupErrors = await undoAll(undo);
      if (cleanupErrors.length > 0) throw new AggregateError([error, ...cleanupErrors], "sandbox start failed, and so did its cleanup");
      throw error;
    }
  }

  /**
   * Fetches `url` from client `clientIndex` with `timeout SEC busybox wget -q
   * -O - URL` (Debian's static busybox wget crashes when given `-T`).
   * Resolves the body, or `undefined` when the fetch failed or timed out.
   * Build URLs with {@link httpUrl} so that IPv6 addresses get brackets.
   */
  async fetch(clientIndex: number, url: string, timeoutSec = 3): Promise<string | undefined> {
    const client = this.clients[clientIndex];
    if (!client) throw new Error(`no client ${clientIndex}; the sandbox has ${this.clients.length}`);
    const argv = ["timeout", String(timeoutSec), "busybox", "wget", "-q", "-O", "-", url];
    const result = await client.ns.exec(argv, { timeoutMs: (timeoutSec + 10) * 1000 });
    return result.code === 0 ? result.stdout : undefined;
  }

  /**
   * Fetches the container's page from client `clientIndex` at the
   * container's own address and port 80, as a neighbour that routes the
   * container subnet to T would ("direct routing": no published port, no
   * DNAT). Clients route everything through T, so no extra route is needed.
   * Resolves the body, or `undefined` when the fetch failed or timed out
   * (28 and later drop such packets in raw PREROUTING).
   */
  fetchDirect(clientIndex: number, container: HttpdContainer, family: "ipv4" | "ipv6" = "ipv4", timeoutSec = 3): Promise<string | undefined> {
    const address = family === "ipv4" ? container.ipv4 : container.ipv6;
    if (address === undefined) throw new Error(`container ${container.name} has no IPv6 address`);
    return this.fetch(clientIndex, httpUrl(address, 80), timeoutSec);
  }

  /** Stops the daemon and deletes every namespace of the sandbox. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= undoAll(this.undo).then((errors) => {
      if (errors.length > 0) throw new AggregateError(errors, "sandbox cleanup failed");
    });
    return this.stopping;
  }
}

/** `http://ADDRESS:PORT/`, with brackets around an IPv6 address. */
export function httpUrl(address: string, port: number, path = "/"): string {
  return `http://${address.includes(":") ? `[${address}]` : address}:${port}${path}`;
}

/** Runs cleanup steps newest first, every one even when some fail; returns their errors. */
async function undoAll(steps: readonly (() => Promise<void>)[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const step of [...steps].reverse()) {
    try {
      await step();
    } catch (error) {
      errors.push(error);
    }
  }
  return errors;
}
