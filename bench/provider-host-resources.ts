import * as path from "node:path";
import { compiledPath } from "../test/support/compiled";
import { ProviderHost, urn } from "../test/support/provider-host";
import { serializeProgram } from "../test/support/pulumi-program";
import { startSshd } from "../test/support/sshd";
import { formatMs, timed, type Row } from "./report";
import { BENCH_PROJECT, BENCH_STACK } from "./rules";
import { expectBenchRules } from "./ssh-resources";
import { commandsStarted } from "./sshd-log";

/** Resources the program declares. */
const RESOURCE_COUNT = 100;
/** The type token Pulumi gives a DockerUserRule: a dynamic resource with its own module and name. */
const RULE_TYPE = "pulumi-nodejs:dynamic/pulumi-docker-firewall:DockerUserRule";

/**
 * The same 100 resources through the real Pulumi dynamic provider host:
 * the program `bench/programs/many-rules` is serialized as `pulumi up`
 * would, then every resource is checked and created over gRPC, all at
 * once, as the engine issues independent creates. Remote execs are counted
 * in sshd's log, since the provider host is another process.
 */
export async function providerHostResources(): Promise<Row[]> {
  const sshd = await startSshd();
  let host: ProviderHost | undefined;
  try {
    const config = {
      [`${BENCH_PROJECT}:count`]: String(RESOURCE_COUNT),
      [`${BENCH_PROJECT}:sshHost`]: sshd.address,
      [`${BENCH_PROJECT}:sshPort`]: String(sshd.port),
      [`${BENCH_PROJECT}:sshPrivateKey`]: sshd.privateKey,
      [`${BENCH_PROJECT}:sshHostKey`]: sshd.hostKey,
    };
    const options = { project: BENCH_PROJECT, stack: BENCH_STACK, config };
    const registered = await serializeProgram(compiledPath("bench/programs/many-rules"), options);
    const resources = registered.filter((r) => r.type === RULE_TYPE);
    if (resources.length !== RESOURCE_COUNT) throw new Error(`sanity: the program declared ${resources.length} rules, expected ${RESOURCE_COUNT}`);

    const started = await timed(async () => {
      const h = await ProviderHost.start({ ...options, cwd: path.resolve(__dirname, "..", "..") });
      await h.configure();
      return h;
    });
    const provider = (host = started.result);
    const { ms } = await timed(() =>
      Promise.all(
        resources.map(async (r) => {
          const resourceUrn = urn(BENCH_PROJECT, BENCH_STACK, r.type, r.name);
          const checked = await provider.check(resourceUrn, {}, r.inputs);
          if (checked.failures.length > 0) throw new Error(`check of ${r.name} failed: ${JSON.stringify(checked.failures)}`);
          return provider.create(resourceUrn, checked.inputs);
        }),
      ),
    );
    await expectBenchRules(sshd, RESOURCE_COUNT);
    const execs = await commandsStarted(sshd);
    return [
      {
        benchmark: `${RESOURCE_COUNT} resources via the Pulumi provider host`,
        value: formatMs(ms),
        note: `${execs} remote execs (counted by sshd); host start ${formatMs(started.ms)} not included`,
      },
    ];
  } finally {
    await host?.close();
    await sshd.stop();
  }
}
