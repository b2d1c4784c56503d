import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "../provider/connection";
import type { ExposureEntry } from "../provider/exposure";
import type { ConnectionArgs } from "./connection";

/** Arguments of {@link getExposure}. */
export interface GetExposureArgs {
  /**
   * The host to read, over SSH.
   * @default the machine the Pulumi program runs on
   */
  readonly connection?: pulumi.Input<ConnectionArgs>;
  /**
   * Which iptables to read: the host's default (`auto`), or the `nft` or `legacy` variant by name.
   * @default "auto"
   */
  readonly iptablesBackend?: pulumi.Input<"auto" | "nft" | "legacy">;
  /**
   * Resources (or any outputs) the report must come after, e.g. this
   * stack's `PublishedPort`s: the host is read once they are created or
   * updated, so the report shows their rules. During a preview, when they
   * will change, the report is unknown.
   * @default none: the host is read when the program runs
   */
  readonly dependsOn?: readonly pulumi.Input<unknown>[];
}

/**
 * Who can reach each port the host serves, and why: the exposure report of
 * `npx pulumi-docker-firewall exposure`, as an output of the stack. Per
 * published port (Docker's DNAT rules) and listening socket, per family:
 * the sources and inbound interfaces that can open a connection, by which
 * path, and the rule that decides. It reads the host's live firewall at
 * every `preview` and `up` (one read-only command), so export it, or fail
 * a deployment on it (see {@link openToEveryone}).
 */
export function getExposure(args: GetExposureArgs = {}): pulumi.Output<ExposureEntry[]> {
  const { dependsOn = [], ...target } = args;
  return pulumi.all([pulumi.output(target), pulumi.all([...dependsOn])]).apply(([read]) => {
    // The engine that is installed, as the resources' providers load it.
    const engine: typeof import("../provider") = require("pulumi-docker-firewall/provider");
    return engine.exposure({ connection: read.connection as Connection | undefined, iptablesBackend: read.iptablesBackend });
  });
}

/**
 * The entries of an exposure report that anyone can reach (on some inbound
 * interface, from the family's whole address space).
 */
export function openToEveryone(entries: readonly ExposureEntry[]): ExposureEntry[] {
  const engine: typeof import("../provider") = require("pulumi-docker-firewall/provider");
  return engine.openToEveryone(entries);
}

export type { ExposureEntry, ExposurePart, DecidingRule } from "../provider/exposure";
