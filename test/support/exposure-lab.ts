import { spawn, type ChildProcess } from "node:child_process";
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
 * - `cliA`, `cliB`: clients, each with {@link CLIENT_ADDRESSES} extra source addresses.
 */

/** The port DNATed to the container. */
export const FORWARDED_PORT = 8080;
/** The port a socket of the host itself serves. */
export const PROXIED_PORT = 9090;
/** Extra source addresses per client. */
export const CLIENT_ADDRESSES = 8;

/** One client namespace: its interface's name on the host side, the host's address there, and its source addresses. */
export interface LabClient {
  readonly ns: Netns;
  /** The host's interface toward it. */
  readonly hostInterface: string;
  /** The host's address on that interface (what the client connects to). */
  readonly hostAddress: string;
  readonly sources: readonly string[];
}

/** A connection attempt and what the packets said. */
export interface Probe {
  readonly client: LabClient;
  readonly source: string;
  readonly port: number;
}

/** A TCP server, as a node one-liner: accepts and answers "ok". */
const SERVER = "const s=require('net').createServer(c=>{c.end('ok')});s.listen(Number(process.argv[1]),'0.0.0.0',()=>console.log('listening'))";
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
      await host.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      const clients: LabClient[] = [];
      for (const [index, name] of [[1, "A"], [2, "B"]] as const) {
        const ns = await Netns.create(`x${name.toLowerCase()}`);
        made.push(ns);
        const l = await link(host, ns, index, { aIf: `eth${name}`, bIf: "eth0" });
        await ns.run(["ip", "route", "add", "default", "via", l.aV4]);
        const sources: string[] = [];
        for (let i = 1; i <= CLIENT_ADDRESSES; i++) {
          const source = `198.51.100.${index * 16 + i}`;
          await ns.run(["ip", "addr", "add", `${source}/32`, "dev", "eth0"]);
          sources.push(source);
        }
        await host.run(["ip", "route", "add", `198.51.100.${index * 16}/28`, "via", l.bV4, "dev", l.aIf]);
        clients.push({ ns, hostInterface: l.aIf, hostAddress: l.aV4, sources });
      }
      servers.push(await serve(container, 80), await serve(host, PROXIED_PORT));
      return new ExposureLab(host, container, clients, servers);
    } catch (error) {
      for (const s of servers) s.kill("SIGKILL");
      for (const ns of made) await ns.delete();
      throw error;
    }
  }

  /** Replaces the host's IPv4 firewall: Docker's rules, plus `dockerUser` at the top of DOCKER-USER and `input` in INPUT. */
  async setRules(dockerUser: readonly string[], input: readonly string[]): Promise<void> {
    const text = [
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      ":INPUT ACCEPT [0:0]",
      ":OUTPUT ACCEPT [0:0]",
      ":POSTROUTING ACCEPT [0:0]",
      ":DOCKER - [0:0]",
      "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
      "-A DOCKER -i ctr0 -j RETURN",
      `-A DOCKER ! -i ctr0 -p tcp -m tcp --dport ${FORWARDED_PORT} -j DNAT --to-destination 203.0.113.2:80`,
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
      "-A DOCKER -d 203.0.113.2/32 ! -i ctr0 -o ctr0 -p tcp -m tcp --dport 80 -j ACCEPT",
      ...dockerUser,
      "-A DOCKER-USER -j RETURN",
      "COMMIT",
      "",
    ].join("\n");
    await this.host.run(["iptables-restore"], { stdin: text });
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
      const out = await client.ns.run(["node", "-e", CLIENT, JSON.stringify(mine.map((p) => [p.source, client.hostAddress, p.port]))], { timeoutMs: 30_000 });
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
