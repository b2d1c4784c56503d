import { spawn, type ChildProcess } from "node:child_process";
import type { Family } from "../../provider/family";
import { HostSession, type Snapshot } from "../../provider/host-session";
import { link, Netns } from "./netns";

/**
 * A small Docker-like host in network namespaces, for checking the exposure
 * evaluator against real packets (no Docker needed):
 *
 * - `host`: the firewall under test; a veth `ctr0` to the container (as
 *   Docker's bridge), `ethA` and `ethB` to two client namespaces; forwarding
 *   on; nat DOCKER DNATs port {@link FORWARDED_PORT} to the container's port
 *   80 (`! -i ctr0`, as Docker writes it); filter FORWARD is Docker 20.10's
 *   (policy DROP, DOCKER-USER first); a socket of its own on
 *   {@link PROXIED_PORT} (the docker-proxy path, through INPUT).
 * - `ctr`: the container, serving port 80.
 * - `cliA`, `cliB`: clients, each with {@link CLIENT_ADDRESSES} extra source addresses per family.
 *
 * Both families are set up alike (IPv6 forwarding on, the same rules in ip6tables).
 */

/** The port DNATed to the container. */
export const FORWARDED_PORT = 8080;
/** The port a socket of the host itself serves. */
export const PROXIED_PORT = 9090;
/** Extra source addresses per client. */
export const CLIENT_ADDRESSES = 8;

/** One client namespace: its interface's name on the host side, the host's addresses there, and its source addresses. */
export interface LabClient {
  readonly ns: Netns;
  /** The host's interface toward it. */
  readonly hostInterface: string;
  /** The host's address on that interface, per family (what the client connects to). */
  readonly hostAddress: Readonly<Record<Family, string>>;
  /** Its source addresses, per family. */
  readonly sources: Readonly<Record<Family, readonly string[]>>;
}

/** The container's address per family. */
export const CONTAINER = { ipv4: "203.0.113.2", ipv6: "2001:db8:a00::2" } as const;

/** A connection attempt from one of a client's source addresses (its family is the source's). */
export interface Probe {
  readonly client: LabClient;
  readonly family: Family;
  readonly source: string;
  readonly port: number;
}

/** A TCP server, as a node one-liner: accepts and answers "ok". */
const SERVER = "const s=require('net').createServer(c=>{c.end('ok')});s.listen({port:Number(process.argv[1]),host:'::',ipv6Only:false},()=>console.log('listening'))";
/** Tries connections in parallel: argv[1] is JSON [[source, address, port], …]; prints JSON [true|false, …]. */
const CLIENT =
  "const net=require('net');const cases=JSON.parse(process.argv[1]);Promise.all(cases.map(([s,a,p])=>new Promise(r=>{const c=net.connect({host:a,port:p,localAddress:s});const t=setTimeout(()=>{c.destroy();r(false)},1500);c.on('data',()=>{clearTimeout(t);c.destroy();r(true)});c.on('error',()=>{clearTimeout(t);r(false)})}))).then(x=>console.log(JSON.stringify(x)))";

/** The lab's namespaces and servers; `delete()` removes all of it. */
export class ExposureLab {
  private constructor(
    readonly host: Netns,
    readonly container: Netns,
    readonly clients: readonly LabClient[],
    private readonly servers: ChildProcess[],
  ) {}

  /** Builds the namespaces, links and servers (and removes what it made if that fails). */
  static async create(): Promise<ExposureLab> {
    const made: Netns[] = [];
    const servers: ChildProcess[] = [];
    try {
      const host = await Netns.create("xh");
      made.push(host);
      const container = await Netns.create("xc");
      made.push(container);
      const toContainer = await link(host, container, 0, { aIf: "ctr0", bIf: "eth0" });
      await container.run(["ip", "route", "add", "default", "via", toContainer.aV4]);
      await container.run(["ip", "-6", "route", "add", "default", "via", toContainer.aV6]);
      await host.run(["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
      const clients: LabClient[] = [];
      for (const [index, name] of [[1, "A"], [2, "B"]] as const) {
        const ns = await Netns.create(`x${name.toLowerCase()}`);
        made.push(ns);
        const l = await link(host, ns, index, { aIf: `eth${name}`, bIf: "eth0" });
        await ns.run(["ip", "route", "add", "default", "via", l.aV4]);
        await ns.run(["ip", "-6", "route", "add", "default", "via", l.aV6]);
        const sources = { ipv4: [] as string[], ipv6: [] as string[] };
        for (let i = 1; i <= CLIENT_ADDRESSES; i++) {
          sources.ipv4.push(`198.51.100.${index * 16 + i}`);
          sources.ipv6.push(`2001:db8:1:${index}::${i}`);
          await ns.run(["ip", "addr", "add", `${sources.ipv4[i - 1]}/32`, "dev", "eth0"]);
          await ns.run(["ip", "-6", "addr", "add", `${sources.ipv6[i - 1]}/128`, "dev", "eth0", "nodad"]);
        }
        await host.run(["ip", "route", "add", `198.51.100.${index * 16}/28`, "via", l.bV4, "dev", l.aIf]);
        await host.run(["ip", "-6", "route", "add", `2001:db8:1:${index}::/64`, "via", l.bV6, "dev", l.aIf]);
        clients.push({ ns, hostInterface: l.aIf, hostAddress: { ipv4: l.aV4, ipv6: l.aV6 }, sources });
      }
      servers.push(await serve(container, 80), await serve(host, PROXIED_PORT));
      return new ExposureLab(host, container, clients, servers);
    } catch (error) {
      for (const s of servers) s.kill("SIGKILL");
      for (const ns of made) await ns.delete();
      throw error;
    }
  }

  /** Replaces the host's firewall of a family: Docker's rules, plus `dockerUser` at the top of DOCKER-USER and `input` in INPUT. */
  async setRules(family: Family, dockerUser: readonly string[], input: readonly string[]): Promise<void> {
    const container = CONTAINER[family];
    const target = family === "ipv4" ? `${container}:80` : `[${container}]:80`;
    const text = [
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      ":INPUT ACCEPT [0:0]",
      ":OUTPUT ACCEPT [0:0]",
      ":POSTROUTING ACCEPT [0:0]",
      ":DOCKER - [0:0]",
      "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
      "-A DOCKER -i ctr0 -j RETURN",
      `-A DOCKER ! -i ctr0 -p tcp -m tcp --dport ${FORWARDED_PORT} -j DNAT --to-destination ${target}`,
      "COMMIT",
      "*filter",
      ":INPUT ACCEPT [0:0]",
      ":FORWARD DROP [0:0]",
      ":OUTPUT ACCEPT [0:0]",
      ":DOCKER - [0:0]",
      ":DOCKER-USER - [0:0]",
      ...input,
      "-A FORWARD -j DOCKER-USER",
      "-A FORWARD -o ctr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A FORWARD -o ctr0 -j DOCKER",
      "-A FORWARD -i ctr0 ! -o ctr0 -j ACCEPT",
      `-A DOCKER -d ${container}/${family === "ipv4" ? 32 : 128} ! -i ctr0 -o ctr0 -p tcp -m tcp --dport 80 -j ACCEPT`,
      ...dockerUser,
      "-A DOCKER-USER -j RETURN",
      "COMMIT",
      "",
    ].join("\n");
    await this.host.run([family === "ipv4" ? "iptables-restore" : "ip6tables-restore"], { stdin: text });
  }

  /** Reads the host the way the CLI does (one command: both families' rulesets and its sockets). */
  read(): Promise<Snapshot> {
    return new HostSession(this.host, "auto").read();
  }

  /** Opens every probe's connection for real; true where it was established (the server's answer came back). */
  async probe(probes: readonly Probe[]): Promise<boolean[]> {
    const results = new Map<Probe, boolean>();
    for (const client of this.clients) {
      const mine = probes.filter((p) => p.client === client);
      if (mine.length === 0) continue;
      const out = await client.ns.run(["node", "-e", CLIENT, JSON.stringify(mine.map((p) => [p.source, client.hostAddress[p.family], p.port]))], { timeoutMs: 30_000 });
      (JSON.parse(out) as boolean[]).forEach((ok, i) => results.set(mine[i], ok));
    }
    return probes.map((p) => results.get(p)!);
  }

  /** Stops the servers and deletes every namespace. */
  async delete(): Promise<void> {
    for (const s of this.servers) s.kill("SIGKILL");
    for (const ns of [...this.clients.map((c) => c.ns), this.container, this.host]) await ns.delete();
  }
}

/** Starts a TCP server in a namespace and waits until it listens. */
function serve(ns: Netns, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", ns.name, "node", "-e", SERVER, String(port)], { stdio: ["ignore", "pipe", "pipe"] });
    child.once("error", reject);
    child.stdout!.once("data", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`the server on port ${port} in ${ns.name} exited with ${code}`)));
  });
}
