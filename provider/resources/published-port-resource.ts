import { observePublishedPort, publishedPortRules, publishedPortSchema } from "./published-port";
import { ruleResource, type ResourceEngine } from "./rule-resource";

/** The lifecycle of a `PublishedPort`: a host port's allowlist on every path to it, plus what the host serves on it. */
export const publishedPort: ResourceEngine = ruleResource({
  schema: publishedPortSchema,
  rules: publishedPortRules,
  observe: observePublishedPort,
  observedOutputs: ["published", "bindAddresses", "targets", "served", "guardedPaths", "warnings"],
});
