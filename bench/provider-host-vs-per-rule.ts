import * as path from "node:path";
import { DOCKER_USER } from "../provider/docker/layout";
import { tokenize } from "../provider/iptables/tokens";
import { compiledPath } from "../test/support/compiled";
import { Netns } from "../test/support/netns";
import { ProviderHost, urn } from "../test/support/provider-host";
import { serializeProgram, type RegisteredResource, type SerializeProgramOptions } from "../test/support/pulumi-program";
import { formatCount, formatMs, timed, type Row } from "./report";
import { BENCH_PROJECT, BENCH_STACK, ownedRules } from "./rules";
import { inFreshNamespace } from "./transaction-vs-per-rule";

/** Resources (and rules) on each side. */
const RULE_COUNT = 500;
/** The type token Pulumi gives a DockerUserRule: a dynamic resource with its own module and name. */
const RULE_TYPE = "pulumi-nodejs:dynamic/pulumi-docker-firewall:DockerUserRule";

/**
 * Adds each rule (argv after `-A DOCKER-USER`, one rule a line on stdin) with
 * `iptables -C` and, where it is missing, `iptables -I`, one process after
 * another in one shell, after making the chain: how a configuration tool that
 * runs a command per rule does it, without its own overhead.
 */
const PER_RULE_SCRIPT = `set -f
ipt=$1
"$ipt" -w -N ${DOCKER_USER} || exit 1
while IFS= read -r spec; do
  set -- $spec
  "$ipt" -w -C ${DOCKER_USER} "$@" 2> /dev/null || "$ipt" -w -I ${DOCKER_USER} "$@" || exit 1
done`;

/**
 * A dynamic provider as Pulumi serializes one into `__provider`, that does
 * nothing: `check` passes the inputs through, `create` returns them. Through
 * it, the provider host's calls cost what they cost without our engine.
 */
const NO_OP_PROVIDER = "exports.handler = () => ({ check: async (olds, news) => ({ inputs: news }), create: async (inputs) => ({ id: inputs.__owner, outs: inputs }) });";

/**
 * 500 DockerUserRules fired at once through the real Pulumi dynamic
 * provider host, which runs in a fresh namespace and manages its firewall
 * (no connection: the local host), beside the same 500 rules added by
 * `iptables -C`/`-I` one by one in one shell in another fresh namespace.
 * Both use the machine's default iptables. Beside them, the floor: the same
 * 500 `check` and `create` calls through a fresh provider host with a
 * provider that does nothing.
 */
export async function providerHostVsPerRule(): Promise<Row[]> {
  const config = { [`${BENCH_PROJECT}:count`]: String(RULE_COUNT) };
  const options = { project: BENCH_PROJECT, stack: BENCH_STACK, config };
  const registered = await serializeProgram(compiledPath("bench/programs/many-rules"), options);
  const resources = registered.filter((r) => r.type === RULE_TYPE);
  if (resources.length !== RULE_COUNT) throw new Error(`sanity: the program declared ${resources.length} rules, expected ${RULE_COUNT}`);

  const provider = await inFreshNamespace("bench-ph", async (ns) => {
    const ms = await createAll(ns, options, resources);
    await expectRules(ns, RULE_COUNT);
    return ms;
  });

  const floor = await inFreshNamespace("bench-noop", (ns) => createAll(ns, options, resources.map((r) => ({ ...r, inputs: { ...r.inputs, __provider: NO_OP_PROVIDER } }))));

  const perRule = await inFreshNamespace("bench-pr", async (ns) => {
    const specs = ownedRules(RULE_COUNT).map(({ rule }) => tokenize(rule.text).slice(2).map((t) => t.text));
    if (specs.some((words) => words.some((w) => /\s/.test(w)))) throw new Error("sanity: a rule has a word with a space, which one line per rule cannot carry");
    const { ms } = await timed(() => ns.run(["sh", "-c", PER_RULE_SCRIPT, "sh", "iptables"], { stdin: specs.map((words) => `${words.join(" ")}\n`).join(""), timeoutMs: 600_000 }));
    await expectRules(ns, RULE_COUNT);
    return ms;
  });

  return [
    { benchmark: `${RULE_COUNT} DockerUserRule creates at once, Pulumi provider host (local)`, value: formatMs(provider), note: `${(provider / perRule).toFixed(2)} of the per-rule time (target: at most 0.2)` },
    { benchmark: `the same ${RULE_COUNT} rules, iptables -C/-I per rule in one shell`, value: formatMs(perRule), note: `${formatCount(1 + 2 * RULE_COUNT)} processes` },
    {
      benchmark: `the same ${RULE_COUNT} check + create calls, provider host with a no-op provider`,
      value: formatMs(floor),
      note: `${(floor / perRule).toFixed(2)} of the per-rule time: the provider host's (and this harness's) floor; our engine adds ${formatMs(provider - floor)}`,
    },
  ];
}

/**
 * Starts a provider host in `ns`, then checks and creates every resource at
 * once, as `pulumi up` would (each create after its own check); returns how
 * long that took, in ms.
 */
async function createAll(ns: Netns, options: SerializeProgramOptions, resources: readonly RegisteredResource[]): Promise<number> {
  const host = await ProviderHost.start({ ...options, cwd: path.resolve(__dirname, "..", ".."), prefix: ["ip", "netns", "exec", ns.name] });
  try {
    await host.configure();
    const { ms } = await timed(() =>
      Promise.all(
        resources.map(async (r) => {
          const resourceUrn = urn(BENCH_PROJECT, BENCH_STACK, r.type, r.name);
          const checked = await host.check(resourceUrn, {}, r.inputs);
          if (checked.failures.length > 0) throw new Error(`check of ${r.name} failed: ${JSON.stringify(checked.failures)}`);
          return host.create(resourceUrn, checked.inputs);
        }),
      ),
    );
    return ms;
  } finally {
    await host.close();
  }
}

/** Sanity: the namespace's DOCKER-USER holds `count` of the benchmark's rules. */
async function expectRules(ns: Netns, count: number): Promise<void> {
  const listed = await ns.run(["iptables", "-w", "-S", DOCKER_USER]);
  const found = listed.split("\n").filter((l) => l.startsWith(`-A ${DOCKER_USER} `) && l.includes(`pdf:${BENCH_PROJECT}/${BENCH_STACK}/rule/`)).length;
  if (found !== count) throw new Error(`sanity: expected ${count} benchmark rules in ${DOCKER_USER} of ${ns.name}, found ${found}`);
}
