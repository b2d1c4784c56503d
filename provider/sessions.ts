import { createHash } from "node:crypto";
import ipaddr from "ipaddr.js";
import type { Connection } from "./connection";
import type { Host } from "./host/host";
import { LocalHost } from "./host/local-host";
import { SshHost } from "./host/ssh-host";
import { HostQueue } from "./host-queue";
import { HostSession } from "./host-session";
import type { Backend } from "./iptables/backend";

/**
 * One host connection, one queue and one session per target, per process.
 * Pulumi runs every dynamic resource of a program in one provider process,
 * so all resources on a host share its connection, its queue and its lock.
 */
const hosts = new Map<string, { host: Host; queue: HostQueue }>();
const sessions = new Map<string, HostSession>();

/** Makes the host for a target; tests replace it to put a fake host behind the resources. */
export type HostFactory = (connection: Connection | undefined) => Host;

const defaultFactory: HostFactory = (connection) => (connection ? new SshHost(connection) : new LocalHost());
let makeHost = defaultFactory;

/** Replaces how hosts are made (the seam for tests); call with no argument to restore the default. */
export function setHostFactory(factory: HostFactory = defaultFactory): void {
  makeHost = factory;
}

/** A display key for a target: `local`, or `user@host:port` (plus `+sudo`). */
export function targetKey(connection: Connection | undefined): string {
  if (!connection) return "local";
  return `${connection.user ?? "root"}@${connection.host.toLowerCase()}:${connection.port ?? 22}${connection.sudo ? "+sudo" : ""}`;
}

/**
 * Which firewall a connection reaches: `local`, or `host:port` with the host
 * written one way (lower case; an IP address in its normal form). The user,
 * sudo and credentials do not change the firewall, so they are not part of it.
 */
export function firewallIdentity(connection: Connection | undefined): string {
  if (!connection) return "local";
  const host = ipaddr.isValid(connection.host) ? ipaddr.parse(connection.host).toNormalizedString() : connection.host.toLowerCase();
  return `${host}:${connection.port ?? 22}`;
}

/**
 * The session for a target and backend, created on first use. Connections
 * are shared only between resources with the same connection settings, so
 * every resource's credentials and pinned host key are really used; the
 * host-side lock still serializes sessions that reach the same host.
 */
export function sessionFor(connection: Connection | undefined, backend: Backend = "auto"): HostSession {
  const key = connection ? `${targetKey(connection)}#${settingsHash(connection)}` : "local";
  let target = hosts.get(key);
  if (!target) {
    target = { host: makeHost(connection), queue: new HostQueue() };
    hosts.set(key, target);
  }
  let session = sessions.get(`${key}|${backend}`);
  if (!session) {
    session = new HostSession(target.host, backend, target.queue);
    sessions.set(`${key}|${backend}`, session);
  }
  return session;
}

/** A hash of all connection settings (secrets included), so that only the hash is kept as a key. */
function settingsHash(connection: Connection): string {
  const sorted = Object.fromEntries(Object.entries(connection).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex");
}

/** Closes every connection this process opened (tests and scripts call it when done). */
export async function closeAllSessions(): Promise<void> {
  const open = [...hosts.values()];
  hosts.clear();
  sessions.clear();
  await Promise.all(open.map((t) => t.host.close()));
}
