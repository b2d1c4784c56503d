import { dockerUserRules, dockerUserRuleSchema, observeDockerUserRule } from "./docker-user-rule";
import { ruleResource, type ResourceEngine } from "./rule-resource";

/** The lifecycle of a `DockerUserRule`: one rule per family at the top of DOCKER-USER. */
export const dockerUserRule: ResourceEngine = ruleResource({
  schema: dockerUserRuleSchema,
  rules: dockerUserRules,
  observe: observeDockerUserRule,
  observedOutputs: ["warnings"],
});
