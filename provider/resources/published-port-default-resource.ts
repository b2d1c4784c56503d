import { observePublishedPortDefault, publishedPortDefaultRules, publishedPortDefaultSchema } from "./published-port-default";
import { ruleResource, type ResourceEngine } from "./rule-resource";

/** The lifecycle of a `PublishedPortDefault`: every published port of the host closed to outside clients, unless a `PublishedPort` allows a source. */
export const publishedPortDefault: ResourceEngine = ruleResource({
  schema: publishedPortDefaultSchema,
  rules: publishedPortDefaultRules,
  observe: observePublishedPortDefault,
  observedOutputs: ["served", "closedPaths"],
});
