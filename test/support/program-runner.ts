/**
 * Child process of `serializeProgram` (./pulumi-program.ts): runs a compiled
 * Pulumi program as the Node.js language host does (CommonJS `require`, an
 * exported function is called, everything inside a root Stack resource), but
 * against `pulumi.runtime.setMocks`, then writes what was registered as JSON.
 *
 * argv: `<program> <project> <stack> <preview: true|false> <result file>`.
 * cwd: the program directory. Stack config comes in `PULUMI_CONFIG`, as from
 * the language host.
 */
import { writeFileSync } from "node:fs";
import type * as Pulumi from "@pulumi/pulumi";
import type { RegisteredResource } from "./pulumi-program";

type PulumiModule = typeof Pulumi;

/** Engine form of a deserialized value: unknowns become the unknown sentinel string. */
function toEngineForm(pulumi: PulumiModule, value: unknown): unknown {
  if (pulumi.isUnknown(value)) return pulumi.runtime.unknownValue;
  if (Array.isArray(value)) return value.map((item) => toEngineForm(pulumi, item));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toEngineForm(pulumi, item)]));
  }
  return value;
}

/** What the mocks saw for one resource; secrets (always lifted to top-level keys by the SDK) are unwrapped and listed. */
function describe(pulumi: PulumiModule, args: Pulumi.runtime.MockResourceArgs): RegisteredResource {
  const inputs: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(args.inputs as Record<string, unknown>)) {
    if (pulumi.runtime.isRpcSecret(value)) secretKeys.push(key);
    inputs[key] = toEngineForm(pulumi, pulumi.runtime.unwrapRpcSecret(value));
  }
  return { type: args.type, name: args.name, inputs, secretKeys };
}

async function main(): Promise<void> {
  const [program, project, stack, preview, resultFile] = process.argv.slice(2);
  // The program's own copy of the SDK: mocks set on another copy would go unseen.
  const pulumi: PulumiModule = require(require.resolve("@pulumi/pulumi", { paths: [process.cwd()] }));
  const registered: RegisteredResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push(describe(pulumi, args));
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    project,
    stack,
    preview === "true",
  );
  await pulumi.runtime.runInPulumiStack(async () => {
    const exported = require(program);
    return exported instanceof Function ? exported() : exported;
  });
  await pulumi.runtime.disconnect();
  writeFileSync(resultFile, JSON.stringify(registered));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
