import { classifyCommandFailure, restoreLine } from "./command-failure";
import { dockerUserState } from "./docker-user-chain";
import { FirewallError, HostError, RestoreError } from "./errors";
import { FAMILIES, type Family } from "./family";
import { APPLY_EXIT, applyCommand, applyInput, fingerprint, readCommand, splitSections, type TableName } from "./host-scripts";
import type { Host } from "./host/host";
import type { Backend } from "./iptables/backend";
import { restoreInput } from "./iptables/restore-script";
import { parseSave, type Ruleset } from "./iptables/ruleset";
import { planChain, type Operation, type OwnedRule } from "./planner";

/** Both families' rulesets as read at one moment (the tables that were asked for). */
export type Snapshot = Readonly<Record<Family, Ruleset>>;

/** One resource's desired rules per family; empty lists remove its rules. */
export interface ChangeRequest {
  readonly owner: string;
  readonly rules: Readonly<Record<Family, readonly OwnedRule[]>>;
}

/** What applying a change did. */
export interface ChangeResult {
  /** The host's rulesets right after the transaction that carried the change. */
  readonly snapshot: Snapshot;
  /** The operations of that whole transaction (it may carry other changes too). */
  readonly operations: Readonly<Record<Family, readonly Operation[]>>;
}

interface Pending {
  readonly change?: ChangeRequest;
  readonly tables: readonly TableName[];
  readonly resolve: (value: ChangeResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * How long the first request waits for others before its transaction
 * starts. Pulumi sends a program's creates one gRPC call after another, and
 * the provider host deserializes each call's provider first; 50 ms gathers
 * a hundred of them into one transaction (measured by `npm run bench`), at
 * the price of 50 ms on a lone change.
 */
const BATCH_WINDOW_MS = 50;

/** Every table a request may ask for, in the order they are read. */
const ALL_TABLES: readonly TableName[] = ["filter", "nat"];

/** The apply command may wait for another process's lock first. */
const APPLY_TIMEOUT_MS = 120_000;

/** How often a transaction is re-planned when the chain changed under it. */
const MAX_ATTEMPTS = 5;

/**
 * The only place with concurrency: one session per host serializes every
 * read and change. Requests that arrive while a transaction is in flight
 * wait in a queue; when it ends, all of them are planned together against
 * one fresh read and applied in one transaction (group commit). If that
 * combined transaction is rejected, each change is retried alone, so a bad
 * change fails by itself.
 */
export class HostSession {
  private queue: Pending[] = [];
  private running = false;

  /**
   * @param host where the firewall is
   * @param backend which iptables variant to run
   */
  constructor(
    readonly host: Host,
    readonly backend: Backend,
  ) {}

  /**
   * Reads both families' rulesets (one command on the host, shared with queued requests).
   * @param tables the tables to read; `filter` always comes along
   */
  async read(tables: readonly TableName[] = ["filter"]): Promise<Snapshot> {
    return (await this.enqueue(undefined, tables)).snapshot;
  }

  /**
   * Makes the host hold exactly `change.rules` for its owner; resolves once verified.
   * @param tables the tables the result's snapshot must hold; `filter` always comes along
   */
  apply(change: ChangeRequest, tables: readonly TableName[] = ["filter"]): Promise<ChangeResult> {
    return this.enqueue(change, tables);
  }

  private enqueue(change: ChangeRequest | undefined, tables: readonly TableName[]): Promise<ChangeResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ change, tables, resolve, reject });
      if (!this.running) {
        this.running = true;
        setTimeout(() => void this.drain(), BATCH_WINDOW_MS);
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.runBatch(this.queue.splice(0));
    this.running = false;
  }

  private async runBatch(batch: readonly Pending[]): Promise<void> {
    try {
      const tables = ALL_TABLES.filter((t) => t === "filter" || batch.some((p) => p.tables.includes(t)));
      const outcome = await this.transact(batch.flatMap((p) => (p.change ? [p.change] : [])), tables);
      for (const p of batch) p.resolve(outcome);
    } catch (error) {
      if (!(error instanceof RestoreError) || batch.filter((p) => p.change).length < 2) {
        for (const p of batch) p.reject(error);
        return;
      }
      for (const p of batch) await this.runBatch([p]);
    }
  }

  /** Read, plan, apply and verify, re-planning when the chain changed in between. */
  private async transact(changes: readonly ChangeRequest[], tables: readonly TableName[]): Promise<ChangeResult> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const before = await this.readSnapshot(tables);
      const operations = planAll(before, changes);
      if (FAMILIES.every((f) => operations[f].length === 0)) return { snapshot: before, operations };
      const after = await this.applyOperations(before, operations, tables);
      if (after === "conflict") continue;
      verify(after, changes, this.host.name);
      return { snapshot: after, operations };
    }
    throw new HostError(this.host.name, `DOCKER-USER kept changing while we applied (${MAX_ATTEMPTS} attempts); is another tool rewriting it?`);
  }

  private async readSnapshot(tables: readonly TableName[]): Promise<Snapshot> {
    const argv = readCommand(this.backend, tables);
    const result = await this.host.exec(argv);
    if (result.code !== 0) throw classifyCommandFailure(this.host.name, argv, result);
    return parseSnapshot(result.stdout, this.host.name);
  }

  private async applyOperations(before: Snapshot, operations: Record<Family, readonly Operation[]>, tables: readonly TableName[]): Promise<Snapshot | "conflict"> {
    const inputs = { ipv4: restoreInput(operations.ipv4), ipv6: restoreInput(operations.ipv6) };
    const argv = applyCommand(this.backend, { ipv4: fingerprint(before.ipv4), ipv6: fingerprint(before.ipv6) }, tables);
    const result = await this.host.exec(argv, { stdin: applyInput(inputs), timeoutMs: APPLY_TIMEOUT_MS });
    if (result.code === 0) return parseSnapshot(result.stdout, this.host.name);
    if (result.code === APPLY_EXIT.conflict) return "conflict";
    if (result.code === APPLY_EXIT.lockTimeout) throw new HostError(this.host.name, result.stderr.trim());
    const family = FAMILIES.find((f) => result.code === APPLY_EXIT.rejected[f] || result.code === APPLY_EXIT.failed[f]);
    if (family) {
      const line = restoreLine(result.stderr);
      const failedLine = line === undefined ? undefined : inputs[family].split("\n")[line - 1];
      const what =
        result.code === APPLY_EXIT.rejected[family]
          ? "rejected the transaction (nothing was changed)"
          : family === "ipv4"
            ? "failed (the transaction is atomic: nothing was changed)"
            : "failed; ipv4's part was rolled back, nothing was changed";
      const tool = `${family === "ipv4" ? "iptables" : "ip6tables"}-restore`;
      throw new RestoreError(this.host.name, [tool, "--noflush"], result.code, `${what}: ${result.stderr.trim()}`, failedLine === "COMMIT" ? undefined : failedLine);
    }
    throw classifyCommandFailure(this.host.name, argv, result);
  }
}

/** Plans every change together, per family. */
export function planAll(snapshot: Snapshot, changes: readonly ChangeRequest[]): Record<Family, readonly Operation[]> {
  const plan = (family: Family) =>
    planChain(dockerUserState(snapshot[family]), changes.map((c) => ({ owner: c.owner, rules: c.rules[family] }))).operations;
  return { ipv4: plan("ipv4"), ipv6: plan("ipv6") };
}

/** Parses the read command's output. */
export function parseSnapshot(output: string, hostName: string): Snapshot {
  const sections = splitSections(output);
  if (!sections) throw new HostError(hostName, "reading the firewall printed no iptables-save output");
  return { ipv4: parseSave(sections.ipv4), ipv6: parseSave(sections.ipv6) };
}

/** Reading back: after the transaction, planning the same changes again must find nothing to do. */
function verify(after: Snapshot, changes: readonly ChangeRequest[], hostName: string): void {
  const left = planAll(after, changes);
  const rest = FAMILIES.flatMap((f) => left[f].map((op) => `${f}: ${op.kind}${"text" in op ? ` ${op.text}` : ""}`));
  if (rest.length > 0) throw new FirewallError(`${hostName}: the firewall reads back different from what was applied; still to do:\n  ${rest.join("\n  ")}`);
}
