/**
 * One "Pulumi process" for remote-errors.test.ts: opens its own SSH
 * connection and HostSession to a host and applies `count` owners' rules
 * concurrently, as the resources of one stack would. Run as
 * `node remote-lock-worker.js` with a JSON `WorkerInput` on stdin (the
 * private key travels on stdin, never in argv); prints a JSON `WorkerOutput`
 * on stdout and exits 0, or prints the error on stderr and exits 1.
 */
import type { Connection } from "../../provider/connection";
import { HostSession } from "../../provider/host-session";
import { SshHost } from "../../provider/host/ssh-host";
import { dockerUserRules } from "../../provider/resources/docker-user-rule";

/** What the worker reads from stdin. */
export interface WorkerInput {
  readonly connection: Connection;
  /** The stack segment of every owner: `p/<stack>/rule/rNN`. */
  readonly stack: string;
  readonly count: number;
}

/** What the worker prints on success. */
export interface WorkerOutput {
  readonly owners: string[];
  readonly execCount: number;
}

/** The owner, priority and port of rule `i` of `stack`; shared with the test so both agree. */
export function workerRule(stack: string, i: number): { owner: string; priority: number; port: number } {
  return { owner: `p/${stack}/rule/r${String(i).padStart(2, "0")}`, priority: 100 + (i % 5) * 10, port: 9000 + i };
}

/** Applies `input.count` owners at once over one connection; resolves what was applied. */
export async function applyMany(input: WorkerInput): Promise<WorkerOutput> {
  const host = new SshHost(input.connection);
  try {
    const session = new HostSession(host, "auto");
    const owners = await Promise.all(
      Array.from({ length: input.count }, async (_, i) => {
        const { owner, priority, port } = workerRule(input.stack, i);
        const rules = dockerUserRules({ __owner: owner, action: "DROP", protocol: "tcp", priority, originalDestinationPort: port });
        await session.apply({ owner, rules });
        return owner;
      }),
    );
    return { owners, execCount: host.execCount };
  } finally {
    await host.close();
  }
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const output = await applyMany(JSON.parse(Buffer.concat(chunks).toString("utf8")) as WorkerInput);
  process.stdout.write(JSON.stringify(output));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
