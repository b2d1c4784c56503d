/**
 * The engine of pulumi-docker-firewall: everything that reads, plans and
 * changes a Docker host's firewall. It has no Pulumi dependency; the SDK's
 * dynamic resources delegate to the engines exported here.
 */
export type { Connection } from "./connection";
export { read, plan, apply, exposure, canReach, type Target, type Plan } from "./api";
export { CanReachQuestionError, openToEveryone, type CanReachAnswer, type CanReachQuestion, type ExposureEntry, type ExposurePart, type DecidingRule, type ServicePath } from "./exposure";
export { FirewallError, ValidationError, HostError, CommandError, RestoreError, TransactionError, SaveParseError, type ValidationIssue } from "./errors";
export type { Family } from "./family";
export type { Host, ExecOptions, ExecResult } from "./host/host";
export { LocalHost } from "./host/local-host";
export { SshHost } from "./host/ssh-host";
export { shellQuote } from "./host/shell-quote";
export { HostSession, type Snapshot, type ChangeRequest, type ChangeResult } from "./host-session";
export { sessionFor, closeAllSessions, targetKey } from "./sessions";
export { parseSave, renderSave, type Ruleset } from "./iptables/ruleset";
export { parseRule, renderRule, type Rule } from "./iptables/rule";
export type { Backend } from "./iptables/backend";
export { planChain, type Operation, type OwnedRule } from "./planner";
export { dockerUserRule } from "./resources/docker-user-rule-resource";
export { dockerUserRuleSchema, type CheckedDockerUserRuleArgs } from "./resources/docker-user-rule";
export type { ResourceEngine, CheckFailure, Props } from "./resources/rule-resource";
export { publishedPort } from "./resources/published-port-resource";
export { publishedPortSchema, type CheckedPublishedPortArgs } from "./resources/published-port";
export { publishedPorts, type PublishedMapping } from "./docker/published-ports";
export { publishedPortDefault } from "./resources/published-port-default-resource";
export { publishedPortDefaultSchema, type CheckedPublishedPortDefaultArgs } from "./resources/published-port-default";
export { daemonConfig } from "./resources/daemon-config-resource";
export { daemonConfigSchema, type CheckedDaemonConfigArgs } from "./resources/daemon-config";
export { DaemonFileError } from "./daemon/daemon-file-error";
export { bridgeNetwork } from "./resources/bridge-network-resource";
export { bridgeNetworkSchema, type CheckedBridgeNetworkArgs } from "./resources/bridge-network";
