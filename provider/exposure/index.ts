/**
 * The exposure evaluator: who can open a connection to each port a Docker
 * host serves, and which rule decides, read from a snapshot of its firewall.
 */
export { canReach, CanReachQuestionError, type CanReachAnswer, type CanReachQuestion } from "./can-reach";
export { exposure, type ExposureEntry, type ExposurePart } from "./exposure";
export type { DecidingRule } from "./chain-walk";
export type { ServicePath } from "./connection-path";
export { openToEveryone } from "./open-to-everyone";
