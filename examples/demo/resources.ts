import { dockerUserRules, dockerUserRuleSchema } from "../../provider/resources/docker-user-rule";
import { dockerUserRule } from "../../provider/resources/docker-user-rule-resource";
import { publishedPortRules, publishedPortSchema } from "../../provider/resources/published-port";
import { publishedPort } from "../../provider/resources/published-port-resource";
import type { Props, ResourceEngine } from "../../provider/resources/rule-resource";
import type { Connection } from "../../provider/connection";
import type { PlannedChange, Snapshot } from "../../provider/host-session";
import type { SandboxClient } from "../../test/support/docker-sandbox";

/** A declared resource: its engine, its checked inputs, the change it asks for and, once created, its outputs. */
export interface Declared {
  readonly name: string;
  readonly engine: ResourceEngine;
  readonly rules: (inputs: Props, snapshot: Snapshot) => PlannedChange;
  readonly inputs: Props;
  outs?: Props;
}

/**
 * The demo's "program": what a Pulumi program would declare, as checked
 * inputs. The SDK adds `__owner` (project/stack/kind/name) the same way.
 */
export async function declareResources(connection: Connection, office: SandboxClient, clientInterfaces: readonly string[]): Promise<Declared[]> {
  const declare = async (name: string, engine: ResourceEngine, rules: (inputs: Props, snapshot: Snapshot) => PlannedChange, args: Props) => {
    const { inputs, failures } = await engine.check({}, args);
    if (failures.length > 0) throw new Error(`${name}: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    return { name, engine, rules, inputs };
  };
  return [
    await declare("established-first", dockerUserRule, (i) => ({ owner: String(i.__owner), rules: dockerUserRules(dockerUserRuleSchema.parse(argumentsOf(i))) }), {
      connection,
      __owner: "demo/dev/rule/established-first",
      priority: 10,
      action: "ACCEPT",
      ctstate: ["RELATED", "ESTABLISHED"],
      comment: "replies first",
    }),
    await declare("web", publishedPort, (i, snapshot) => ({ owner: String(i.__owner), rules: publishedPortRules(publishedPortSchema.parse(argumentsOf(i)), snapshot) }), {
      connection,
      __owner: "demo/dev/port/web",
      hostPort: 8080,
      allowFrom: [office.v4, office.v6],
      inInterface: clientInterfaces[0].replace(/\d+$/, "+"),
      comment: "only the office",
    }),
  ];
}

/** The arguments in checked inputs: without the `ruleText` that `check` adds, a key the schemas do not accept. */
function argumentsOf({ ruleText: _ruleText, ...args }: Props): Props {
  return args;
}
