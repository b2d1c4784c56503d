import { classifyCommandFailure, rejectedLineNumber } from "./command-failure";
import { dockerUserState } from "./docker-user-chain";
import { FirewallError, HostError, RestoreError } from "./errors";
import { FAMILIES, type Family } from "./family";
import { APPLY_EXIT, applyCommand, applyInput, readCommand, splitSections, type HostCommand, type TableName } from "./host-scripts";
import type { ExecResult, Host } from "./host/host";
import type { Backend } from "./iptables/backend";
import { restoreInput } from "./iptables/restore-script";
import { parseSave, type Ruleset } from "./iptables/ruleset";
import { planChain, type Operation, type OwnedRule } from "./planner";

/** Both families' rulesets (the tables that were asked for). */
export type Rulesets = Readonly<Record<Family, Ruleset>>;

/** Both families' rulesets as read at one moment, with the host's fingerprints of DOCKER-USER. */
export interface Snapshot extends Rulesets {
  /** Per family, the host's fingerprint of DOCKER-USER, which an apply must still find; `""` for an unavailable family. */
  readonly fingerprints: Readonly<Record<Family, string>>;
  /** The families whose iptables cannot be used on the host (IPv6 disabled, ip6tables missing); read as empty. */
  readonly unavailable: readonly Family[];
}

/** One resource's desired rules per family; empty lists remove its rules. */
export interface ChangeRequest {
  /** The owner key of the resource (`<project>/<stack>/<kind>/<name>`). */
  readonly owner: string;
  /** Every rule the owner wants, per family, in its own order. */
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
 * one fresh read and applied in one transaction (group commit). Each
 * request gets its own result: if the combined transaction is rejected, each
 * change is retried alone, so a bad change fails by itself, and a change that
 * does not read back as planned fails without failing the others.
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
    const tables = ALL_TABLES.filter((t) => t === "filter" || batch.some((p) => p.tables.includes(t)));
    const changes = batch.filter((p) => p.change);
    const reads = batch.filter((p) => !p.change);
    let outcome: Outcome;
    try {
      outcome = await this.transact(changes.map((p) => p.change!), tables);
    } catch (error) {
      if (!(error instanceof RestoreError) || changes.length === 0) {
        for (const p of batch) p.reject(error);
        return;
      }
      // One of the changes is bad: try each alone so that it fails by itself, and serve the reads apart.
      if (changes.length === 1) changes[0].reject(error);
      else for (const p of changes) await this.runBatch([p]);
      if (reads.length > 0) await this.runBatch(reads);
      return;
    }
    for (const p of batch) {
      const failure = p.change && outcome.unverified.get(p.change.owner);
      if (failure) p.reject(failure);
      else p.resolve({ snapshot: outcome.snapshot, operations: outcome.operations });
    }
  }

  /** Read, plan, apply and verify, re-planning when the chain changed in between. */
  private async transact(changes: readonly ChangeRequest[], tables: readonly TableName[]): Promise<Outcome> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const before = await this.readSnapshot(tables);
      const refused = refuseUnavailable(before, changes, this.host.name);
      const doable = changes.filter((c) => !refused.has(c.owner));
      const operations = planAll(before, doable);
      if (FAMILIES.every((f) => operations[f].length === 0)) return { snapshot: before, operations, unverified: refused };
      const after = await this.applyOperations(before, operations, tables);
      if (after === "conflict") continue;
      return { snapshot: after, operations, unverified: new Map([...refused, ...verify(after, doable, this.host.name)]) };
    }
    throw new HostError(this.host.name, `DOCKER-USER kept changing while we applied (${MAX_ATTEMPTS} attempts); is another tool rewriting it?`);
  }

  private async readSnapshot(tables: readonly TableName[]): Promise<Snapshot> {
    const command = readCommand(this.backend, tables);
    const result = await this.host.exec(command.argv);
    if (result.code !== 0) throw failure(this.host.name, command, result);
    return parseSnapshot(result.stdout, this.host.name);
  }

  private async applyOperations(before: Snapshot, operations: Record<Family, readonly Operation[]>, tables: readonly TableName[]): Promise<Snapshot | "conflict"> {
    const inputs = { ipv4: restoreInput(operations.ipv4), ipv6: restoreInput(operations.ipv6) };
    const command = applyCommand(this.backend, before.fingerprints, tables);
    const result = await this.host.exec(command.argv, { stdin: applyInput(inputs), timeoutMs: APPLY_TIMEOUT_MS });
    if (result.code === 0) return parseSnapshot(result.stdout, this.host.name);
    if (result.code === APPLY_EXIT.conflict) return "conflict";
    if (result.code === APPLY_EXIT.lockTimeout) throw new HostError(this.host.name, result.stderr.trim());
    if (result.code === APPLY_EXIT.rollbackFailed) {
      throw new HostError(this.host.name, `ip6tables-restore failed and rolling ipv4 back failed too: ipv4's DOCKER-USER holds the new rules; run \`pulumi up --refresh\` to reconcile: ${result.stderr.trim()}`);
    }
    const family = FAMILIES.find((f) => result.code === APPLY_EXIT.rejected[f] || result.code === APPLY_EXIT.failed[f]);
    if (family) {
      const line = rejectedLineNumber(result.stderr);
      const failedLine = line === undefined ? undefined : inputs[family].split("\n")[line - 1];
      const what =
        result.code === APPLY_EXIT.rejected[family]
          ? "rejected the transaction (nothing was changed)"
          : family === "ipv4" || inputs.ipv4 === ""
            ? "failed (the transaction is atomic: nothing was changed)"
            : "failed; ipv4's part was rolled back, nothing was changed";
      const tool = `${family === "ipv4" ? "iptables" : "ip6tables"}-restore`;
      throw new RestoreError(this.host.name, [tool, "--noflush"], result.code, `${what}: ${result.stderr.trim()}`, failedLine === "COMMIT" ? undefined : failedLine);
    }
    throw failure(this.host.name, command, result);
  }
}

/** What one transaction did: the host afterwards, its operations, and the changes that did not read back as planned. */
interface Outcome {
  readonly snapshot: Snapshot;
  readonly operations: Record<Family, readonly Operation[]>;
  readonly unverified: ReadonlyMap<string, FirewallError>;
}

/** Classifies a failed host command, naming it by its label rather than its whole script. */
function failure(hostName: string, command: HostCommand, result: ExecResult): FirewallError {
  return classifyCommandFailure(hostName, [command.label], result);
}

/** Plans every change together, per family. */
export function planAll(snapshot: Rulesets, changes: readonly ChangeRequest[]): Record<Family, readonly Operation[]> {
  const plan = (family: Family) =>
    planChain(dockerUserState(snapshot[family]), changes.map((c) => ({ owner: c.owner, rules: c.rules[family] }))).operations;
  return { ipv4: plan("ipv4"), ipv6: plan("ipv6") };
}

/** Parses the read command's output. */
export function parseSnapshot(output: string, hostName: string): Snapshot {
  const sections = splitSections(output);
  if (!sections) throw new HostError(hostName, "reading the firewall printed no iptables-save output");
  return {
    ipv4: parseSave(sections.ipv4.save),
    ipv6: parseSave(sections.ipv6.save),
    fingerprints: { ipv4: sections.ipv4.fingerprint ?? "", ipv6: sections.ipv6.fingerprint ?? "" },
    unavailable: FAMILIES.filter((f) => sections[f].fingerprint === undefined),
  };
}

/** The changes that want rules in a family the host cannot filter, each with its error. */
function refuseUnavailable(snapshot: Snapshot, changes: readonly ChangeRequest[], hostName: string): Map<string, FirewallError> {
  const refused = new Map<string, FirewallError>();
  for (const change of changes) {
    const family = snapshot.unavailable.find((f) => change.rules[f].length > 0);
    if (family) {
      const other = family === "ipv6" ? "ipv4" : "ipv6";
      refused.set(change.owner, new HostError(hostName, `${family === "ipv6" ? "ip6tables" : "iptables"} cannot be used on this host (the family is disabled or the tool is missing); set \`family: "${other}"\` to manage ${other} only`));
    }
  }
  return refused;
}

/**
 * Reading back: after the transaction, planning each change again must
 * find nothing to do. Returns the changes for which it does not.
 */
function verify(after: Rulesets, changes: readonly ChangeRequest[], hostName: string): Map<string, FirewallError> {
  const unverified = new Map<string, FirewallError>();
  const states = { ipv4: dockerUserState(after.ipv4), ipv6: dockerUserState(after.ipv6) };
  for (const change of changes) {
    const left = (f: Family) => planChain(states[f], [{ owner: change.owner, rules: change.rules[f] }]).operations;
    const rest = FAMILIES.flatMap((f) => left(f).map((op) => `${f}: ${op.kind}${"text" in op ? ` ${op.text}` : ""}`));
    if (rest.length > 0) unverified.set(change.owner, new FirewallError(`${hostName}: the firewall reads back different from what was applied; still to do:\n  ${rest.join("\n  ")}`));
  }
  return unverified;
}
