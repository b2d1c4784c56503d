import { observePublishedPort, publishedPortRules, publishedPortSchema } from "./published-port";
import { ruleResource, type ResourceEngine } from "./rule-resource";

/** The lifecycle of a `PublishedPort`: a host port's allowlist in DOCKER-USER, plus what Docker publishes on it. */
export const publishedPort: ResourceEngine = ruleResource({
  schema: publishedPortSchema,
  rules: publishedPortRules,
  observe: observePublishedPort,
  observedTables: ["nat"],
  observedOutputs: ["published", "bindAddresses", "targets"],
});
