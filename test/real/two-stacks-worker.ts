/**
 * One "Pulumi process" for two-stacks.test.ts: a stack of `count`
 * DockerUserRules created against one host, the calls spaced `spacingMs`
 * apart (as Pulumi sends a program's creates), every call awaited on its
 * own. In-process tests call {@link runStack} with their own session; run as
 * `node two-stacks-worker.js` with a JSON {@link WorkerInput} on stdin, it
 * opens its own session to a network namespace and prints a JSON
 * {@link StackOutcome}.
 */
import { HostSession } from "../../provider/host-session";
import type { ExecOptions, ExecResult, Host } from "../../provider/host/host";
import { LocalHost } from "../../provider/host/local-host";
import type { Backend } from "../../provider/iptables/backend";
import { ownedRules } from "../../provider/resources/docker-user-rule";
import type { PlannedChange } from "../../provider/host-session";

/** What the worker reads from stdin. */
export interface WorkerInput {
  /** The network namespace that stands for the host. */
  readonly namespace: string;
  readonly backend: Exclude<Backend, "auto">;
  /** The stack segment of every owner. */
  readonly stack: string;
  readonly count: number;
  readonly spacingMs: number;
}

/** What one stack's run came to. */
export interface StackOutcome {
  /** The message of every create that failed. */
  readonly failures: string[];
  /** Milliseconds from the first call to the last result. */
  readonly ms: number;
}

/** Rule `i` of `stack`: priorities interleave with the other stack's, so that order matters. */
export function stackChange(stack: string, i: number): PlannedChange {
  const owner = `ts/${stack}/rule/r${String(i).padStart(2, "0")}`;
  return { owner, rules: ownedRules(owner, [{ action: "ACCEPT", protocol: "tcp", destinationPort: 9000 + i, priority: 100 + (i % 5) * 10 }]) };
}

/** Starts `count` creates `spacingMs` apart on `session` and waits for all of them. */
export async function runStack(session: HostSession, stack: string, count: number, spacingMs: number): Promise<StackOutcome> {
  const start = Date.now();
  const results = await Promise.allSettled(
    Array.from({ length: count }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * spacingMs));
      await session.apply(stackChange(stack, i));
    }),
  );
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
  return { failures, ms: Date.now() - start };
}

/** Runs every command inside a network namespace. */
class NamespaceHost implements Host {
  private readonly local = new LocalHost();

  constructor(readonly name: string) {}

  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return this.local.exec(["ip", "netns", "exec", this.name, ...argv], options);
  }

  readFile(): Promise<string | undefined> {
    throw new Error("not used");
  }

  writeFile(): Promise<void> {
    throw new Error("not used");
  }

  async close(): Promise<void> {}
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = JSON.parse(Buffer.concat(chunks).toString("utf8")) as WorkerInput;
  const outcome = await runStack(new HostSession(new NamespaceHost(input.namespace), input.backend), input.stack, input.count, input.spacingMs);
  process.stdout.write(JSON.stringify(outcome));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
