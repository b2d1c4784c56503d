/**
 * pulumi-docker-firewall: a Docker host's firewall declared in code.
 * The engine is importable as `pulumi-docker-firewall/provider`.
 */
export { DockerUserRule, type DockerUserRuleArgs } from "./docker-user-rule";
export { PublishedPort, type PublishedPortArgs } from "./published-port";
export { PublishedPortDefault, type PublishedPortDefaultArgs } from "./published-port-default";
export { DaemonConfig, type DaemonConfigArgs } from "./daemon-config";
export { BridgeNetwork, type BridgeNetworkArgs } from "./bridge-network";
export { getExposure, openToEveryone, type GetExposureArgs, type ExposureEntry, type ExposurePart, type DecidingRule } from "./get-exposure";
export type { ConnectionArgs, TargetArgs } from "./connection";
