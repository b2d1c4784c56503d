import { randomBytes } from "node:crypto";
import { chainOf, chainState, GUARDED_PLACES, OUR_JUMP, userTable, type ChainState, type GuardedPlace, type GuardedTable } from "./chains";
import { familyOutcome, type FamilyOutcome } from "./apply-outcome";
import { classifyCommandFailure, rejectedLineNumber } from "./command-failure";
import { parseListeners, type Listener } from "./docker/listeners";
import { DOCKER_USER, dockerLayout } from "./docker/layout";
import { FirewallError, HostError, RestoreError, TransactionError } from "./errors";
import { FAMILIES, type Family } from "./family";
import { APPLY_EXIT, applyCommand, applyInput, HOST_LOCK_PATH, readCommand, splitSections, type HostCommand } from "./host-scripts";
import type { ExecResult, Host } from "./host/host";
import type { Backend } from "./iptables/backend";
import { restoreInput } from "./iptables/restore-script";
import { rollbackInput } from "./iptables/rollback-script";
import { findTable, parseSave, ruleLine, type Ruleset, type Table } from "./iptables/ruleset";
import { planChain, type ChainPlan, type Operation, type OwnedRule } from "./planner";

/** Both families' rulesets (every table). */
export type Rulesets = Readonly<Record<Family, Ruleset>>;

/** The host's firewall as read at one moment: both families' rulesets, the host's fingerprints, and its listening sockets. */
export interface Snapshot extends Rulesets {
  /** Per family, the host's fingerprint of the chains we plan against, which an apply must still find; `""` for an unavailable family. */
  readonly fingerprints: Readonly<Record<Family, string>>;
  /** The families whose iptables cannot be used on the host (IPv6 disabled, ip6tables missing); read as empty. */
  readonly unavailable: readonly Family[];
  /** The host's listening sockets (empty where `ss` is not installed). */
  readonly listeners: readonly Listener[];
}

/** One family's rules, per family. */
export type FamilyRules = Readonly<Record<Family, readonly OwnedRule[]>>;

/** One resource's desired rules per family; empty lists remove its rules. */
export interface ChangeRequest {
  /** The owner key of the resource (`<project>/<stack>/<kind>/<name>`). */
  readonly owner: string;
  /**
   * Every rule the owner wants, per family, in its own order; or a function
   * that gives them for the host as read (when some rules follow what Docker
   * publishes there).
   */
  readonly rules: FamilyRules | ((snapshot: Snapshot) => FamilyRules);
}

/** A change's rules for one snapshot of the host. */
export function rulesFor(change: ChangeRequest, snapshot: Snapshot): FamilyRules {
  return typeof change.rules === "function" ? change.rules(snapshot) : change.rules;
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
  readonly resolve: (value: ChangeResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * How long a batch keeps gathering requests once none has come: the first
 * request on an idle session waits this long for others, and every request
 * that comes meanwhile makes it wait this long again (at most
 * {@link BATCH_MAX_WAIT_MS} in all). Pulumi sends a program's creates one
 * gRPC call after another, each after its own `check`, while the provider
 * host handles every call on one thread: 500 creates come spread over a
 * few hundred milliseconds, and a fixed window cut them into several
 * transactions, each paying a read and an apply (measured by
 * `npm run bench -- provider-host-vs-per-rule`). A lone change pays 50 ms.
 */
const BATCH_WINDOW_MS = 50;

/**
 * The longest a batch gathers while requests keep coming, counted from its
 * first request, so that a steady stream of calls still commits every
 * second or so.
 */
const BATCH_MAX_WAIT_MS = 1000;

/** The apply command may wait for another process's lock first. */
const APPLY_TIMEOUT_MS = 120_000;

/**
 * How long a transaction keeps re-planning while other writers change the
 * chains under it. A retry is planned against the tables the conflict
 * answer read under the host lock, and sent at once (a pause would only let
 * them age) with the turn the conflict reserved for it, so it can conflict
 * again only if a writer that ignores our lock (Docker, an admin) wrote in
 * between, or the retry came later than the reservation lasts; even then,
 * our conflicts never outnumber others' commits. The budget is a time rather than a
 * count, so that a busy host (two stacks deploying at once) slows us down
 * without failing us, while a tool that rewrites the chains without pause
 * still gets a clear error.
 */
const CONFLICT_BUDGET_MS = 60_000;

/**
 * The only place with concurrency: one session per host serializes every
 * read and change. Requests that arrive while a transaction is in flight
 * wait in a queue; when it ends, all of them are planned together against
 * one fresh read and applied in one transaction (group commit). Each
 * request gets its own result: if the combined transaction is rejected, it
 * is halved, each half applied on its own and halved again while it is
 * rejected, so a bad change fails by itself in a few transactions; and a
 * change that does not read back as planned fails without failing the others.
 */
export class HostSession {
  private queue: Pending[] = [];
  private running = false;
  /** While an idle session's first batch gathers: when it began, and the timer that ends it. */
  private gathering?: { readonly since: number; readonly timer: NodeJS.Timeout };

  /**
   * @param host where the firewall is
   * @param backend which iptables variant to run
   */
  constructor(
    readonly host: Host,
    readonly backend: Backend,
  ) {}

  /** Reads the host's firewall (one command on the host, shared with queued requests). */
  async read(): Promise<Snapshot> {
    return (await this.enqueue(undefined)).snapshot;
  }

  /** Makes the host hold exactly `change.rules` for its owner; resolves once verified. */
  apply(change: ChangeRequest): Promise<ChangeResult> {
    return this.enqueue(change);
  }

  private enqueue(change: ChangeRequest | undefined): Promise<ChangeResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ change, resolve, reject });
      // While a transaction is in flight, the queue waits for it; the next batch takes what came meanwhile.
      if (this.running && !this.gathering) return;
      this.running = true;
      const since = this.gathering?.since ?? Date.now();
      if (this.gathering) clearTimeout(this.gathering.timer);
      const wait = Math.max(0, Math.min(BATCH_WINDOW_MS, since + BATCH_MAX_WAIT_MS - Date.now()));
      const timer = setTimeout(() => {
        this.gathering = undefined;
        void this.drain();
      }, wait);
      this.gathering = { since, timer };
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.runBatch(this.queue.splice(0));
    this.running = false;
  }

  private async runBatch(batch: readonly Pending[]): Promise<void> {
    const changes = batch.filter((p) => p.change);
    const reads = batch.filter((p) => !p.change);
    let outcome: Outcome;
    try {
      outcome = await this.transact(changes.map((p) => p.change!));
    } catch (error) {
      if (!(error instanceof RestoreError) || changes.length === 0) {
        for (const p of batch) p.reject(error);
        return;
      }
      // A change is bad: halve the batch, each half its own transaction, until the bad change fails by
      // itself (64 changes with one bad take 13 transactions, not 65); serve the reads apart.
      if (changes.length === 1) changes[0].reject(error);
      else {
        const half = Math.ceil(changes.length / 2);
        await this.runBatch(changes.slice(0, half));
        await this.runBatch(changes.slice(half));
      }
      if (reads.length > 0) await this.runBatch(reads);
      return;
    }
    for (const p of batch) {
      const failure = p.change && outcome.unverified.get(p.change.owner);
      if (failure) p.reject(failure);
      else p.resolve({ snapshot: outcome.snapshot, operations: outcome.operations });
    }
  }

  /**
   * Read, plan, apply and verify. When the chains changed in between, the
   * apply command answers with the tables as it read them under the host
   * lock and reserves the next turn for this transaction's ticket; the
   * transaction is planned again against those tables (no extra read) and
   * sent at once, for as long as {@link CONFLICT_BUDGET_MS} allows.
   */
  private async transact(changes: readonly ChangeRequest[]): Promise<Outcome> {
    const started = Date.now();
    const ticket = randomBytes(8).toString("hex");
    let before = await this.readSnapshot();
    for (let attempt = 1; ; attempt++) {
      const wanted = changes.map((c) => ({ owner: c.owner, rules: rulesFor(c, before) }));
      const refused = refuseUnavailable(before, wanted, this.host.name);
      const doable = wanted.filter((c) => !refused.has(c.owner));
      const operations = planAll(before, doable);
      if (FAMILIES.every((f) => operations[f].length === 0)) return { snapshot: before, operations, unverified: refused };
      const applied = await this.applyOperations(before, operations, ticket);
      if (applied.conflict) {
        if (Date.now() - started > CONFLICT_BUDGET_MS) {
          const seconds = Math.round((Date.now() - started) / 1000);
          throw new HostError(this.host.name, `the firewall kept changing for ${seconds} s while we applied (${attempt} attempts); is another tool rewriting DOCKER-USER, INPUT or FORWARD?`);
        }
        before = applied.snapshot;
        continue;
      }
      const after = applied.snapshot;
      const again = changes.filter((c) => !refused.has(c.owner)).map((c) => ({ owner: c.owner, rules: rulesFor(c, after) }));
      return { snapshot: after, operations, unverified: new Map([...refused, ...verify(after, again, this.host.name)]) };
    }
  }

  private async readSnapshot(lockPath?: string): Promise<Snapshot> {
    const command = readCommand(this.backend, lockPath);
    const result = await this.host.exec(command.argv);
    if (result.code !== 0) throw failure(this.host.name, command, result);
    return parseSnapshot(result.stdout, this.host.name);
  }

  /**
   * Runs the apply command. Resolves with the host afterwards, or with the
   * tables of a conflict; throws where it changed nothing (the lock, a
   * rejected test) and, for every other failure, once the host has been read
   * back to say what it holds (see {@link readBack}).
   */
  private async applyOperations(before: Snapshot, operations: Record<Family, readonly Operation[]>, ticket: string): Promise<Applied> {
    const inputs = { ipv4: restoreInput(operations.ipv4), ipv6: restoreInput(operations.ipv6) };
    const dropTables = (f: Family) => operations[f].flatMap((op) => (op.kind === "delete-table" ? [op.table ?? ("filter" as const)] : []));
    const command = applyCommand(this.backend, before.fingerprints, ticket);
    const work = {
      ipv4: { restore: inputs.ipv4, dropTables: dropTables("ipv4") },
      ipv6: { restore: inputs.ipv6, dropTables: dropTables("ipv6") },
      undoIpv4: inputs.ipv6 === "" ? "" : rollbackInput(before.ipv4, operations.ipv4),
    };
    let result: ExecResult;
    try {
      result = await this.host.exec(command.argv, { stdin: applyInput(work), timeoutMs: APPLY_TIMEOUT_MS });
    } catch (error) {
      return this.readBack(before, operations, `the apply command did not finish (${error instanceof Error ? error.message : String(error)})`);
    }
    if (result.code === 0) return { conflict: false, snapshot: parseSnapshot(result.stdout, this.host.name) };
    if (result.code === APPLY_EXIT.conflict) return { conflict: true, snapshot: parseSnapshot(result.stdout, this.host.name) };
    if (result.code === APPLY_EXIT.lockTimeout) throw new HostError(this.host.name, result.stderr.trim());
    if (result.code === APPLY_EXIT.setupFailed) throw failure(this.host.name, command, result);
    const rejected = FAMILIES.find((f) => result.code === APPLY_EXIT.rejected[f]);
    if (rejected) throw restoreError(this.host.name, rejected, inputs[rejected], result, "rejected the transaction (nothing was changed)");
    return this.readBack(before, operations, describeFailure(result), { result, inputs });
  }

  /**
   * After an apply that failed where it may have changed the host: reads
   * the host (waiting for the host lock, so as not to see the command
   * halfway if it runs on) and tells per family what it holds. When every
   * family holds the whole transaction, it stands as applied. When none
   * holds any of it and a restore failed, that is a `RestoreError` (a
   * change iptables refused, which fails alone); anything else is a
   * `TransactionError` that says what each family holds.
   */
  private async readBack(before: Snapshot, operations: Record<Family, readonly Operation[]>, what: string, exit?: { result: ExecResult; inputs: Record<Family, string> }): Promise<Applied> {
    let now: Snapshot;
    try {
      now = await this.readSnapshot(HOST_LOCK_PATH);
    } catch (error) {
      throw new TransactionError(this.host.name, what, undefined, error instanceof Error ? error.message : String(error));
    }
    const changed = FAMILIES.filter((f) => operations[f].some((op) => op.kind !== "delete-table"));
    const outcomes: Partial<Record<Family, FamilyOutcome>> = Object.fromEntries(changed.map((f) => [f, familyOutcome(before[f], operations[f], now[f])]));
    if (changed.every((f) => outcomes[f] === "applied")) return { conflict: false, snapshot: now };
    const failed = exit && FAMILIES.find((f) => exit.result.code === APPLY_EXIT.failed[f]);
    if (exit && failed && changed.every((f) => outcomes[f] === "not applied")) {
      const rolledBack = failed === "ipv6" && exit.inputs.ipv4 !== "" ? "ipv4's part was rolled back, " : "";
      throw restoreError(this.host.name, failed, exit.inputs[failed], exit.result, `failed after its test passed; ${rolledBack}nothing was changed (read back)`);
    }
    throw new TransactionError(this.host.name, what, outcomes);
  }
}

/** What the apply command came to: the host afterwards, or (on a conflict) as read under the lock. */
interface Applied {
  readonly conflict: boolean;
  readonly snapshot: Snapshot;
}

/** A `RestoreError` for a family's restore input, naming the line iptables refused when it names one. */
function restoreError(hostName: string, family: Family, input: string, result: ExecResult, what: string): RestoreError {
  const line = rejectedLineNumber(result.stderr);
  const failedLine = line === undefined ? undefined : input.split("\n")[line - 1];
  const tool = `${family === "ipv4" ? "iptables" : "ip6tables"}-restore`;
  return new RestoreError(hostName, [tool, "--noflush"], result.code, `${what}: ${result.stderr.trim()}`, failedLine === "COMMIT" ? undefined : failedLine);
}

/** What went wrong, from the apply command's exit code (what the host holds is read back separately). */
function describeFailure(result: ExecResult): string {
  const stderr = result.stderr.trim() ? `: ${result.stderr.trim()}` : "";
  const failed = FAMILIES.find((f) => result.code === APPLY_EXIT.failed[f]);
  if (failed) return `${failed === "ipv4" ? "iptables" : "ip6tables"}-restore failed after its test passed (exit ${result.code})${stderr}`;
  if (result.code === APPLY_EXIT.rollbackFailed) return `ip6tables-restore failed, and taking ipv4's part back failed too (exit ${result.code})${stderr}`;
  if (result.code === APPLY_EXIT.readFailed) return `reading the firewall failed during the apply (exit ${result.code})${stderr}`;
  // A shell reports a child killed by signal N as 128 + N; LocalHost reports 128 when the command itself was killed.
  if (result.code >= 128) return `the apply command was killed (exit ${result.code})${stderr}`;
  return `the apply command exited with ${result.code}${stderr}`;
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

/** A change whose rules are known (computed for one snapshot). */
export interface PlannedChange {
  readonly owner: string;
  readonly rules: FamilyRules;
}

/** Plans every change together, per family and guarded chain. */
export function planAll(snapshot: Rulesets, changes: readonly PlannedChange[]): Record<Family, readonly Operation[]> {
  return { ipv4: planFamily(snapshot.ipv4, changes.map((c) => ({ owner: c.owner, rules: c.rules.ipv4 }))), ipv6: planFamily(snapshot.ipv6, changes.map((c) => ({ owner: c.owner, rules: c.rules.ipv6 }))) };
}

/**
 * Plans one family: each guarded place (DOCKER-USER in the table the layout
 * gives it, emptying the other; INPUT), then, for a table the changes leave
 * holding nothing at all (which means that it held only our rules), its
 * removal, so that a table we made does not stay.
 */
export function planFamily(ruleset: Ruleset, changes: readonly { owner: string; rules: readonly OwnedRule[] }[]): Operation[] {
  return planPlaces(ruleset, placeStates(ruleset), changes, true);
}

/** One family's guarded places as read, each with the rules of a change it is to hold. */
interface PlaceStates {
  /** The table DOCKER-USER lives in. */
  readonly users: GuardedTable;
  readonly places: readonly { readonly place: GuardedPlace; readonly state: ChainState }[];
}

/** Reads every guarded place of a family once (on a big host each read scans the table), for any number of plans. */
function placeStates(ruleset: Ruleset): PlaceStates {
  const layout = dockerLayout(ruleset);
  return { users: userTable(layout), places: GUARDED_PLACES.map((place) => ({ place, state: chainState(ruleset, place.chain, layout, place.table) })) };
}

/** Plans one family against its places as read; with `dropTables`, removes a table the changes leave empty (see {@link planFamily}). */
function planPlaces(ruleset: Ruleset, states: PlaceStates, changes: readonly { owner: string; rules: readonly OwnedRule[] }[], dropTables: boolean): Operation[] {
  const operations: Operation[] = [];
  for (const table of ["filter", "mangle"] as const) {
    const here = states.places.filter((p) => p.place.table === table);
    const plans = here.map(({ place, state }) => {
      const wanted = (rules: readonly OwnedRule[]) => (place.chain === DOCKER_USER && table !== states.users ? [] : rules.filter((r) => chainOf(r.text) === place.chain));
      return planChain(state, changes.map((c) => ({ owner: c.owner, rules: wanted(c.rules) })));
    });
    const planned = plans.flatMap((p) => p.operations);
    if (planned.length === 0) continue;
    const drop = dropTables && leftEmpty(findTable(ruleset, table), here.map((p) => p.place), plans, planned);
    const ops: Operation[] = [...planned, ...(drop ? [{ kind: "delete-table" as const }] : [])];
    operations.push(...(table === "mangle" ? ops.map((op) => ({ ...op, table })) : ops));
  }
  return operations;
}

/** Whether a table holds nothing once a plan ran: no rule, no chain of its own, no DROP policy. */
function leftEmpty(table: Table | undefined, places: readonly GuardedPlace[], plans: readonly ChainPlan[], operations: readonly Operation[]): boolean {
  if (!table || plans.some((p) => p.result.length > 0)) return false;
  const planned = new Set<string>(places.map((p) => p.chain));
  const jumpGoes = operations.some((op) => op.kind === "delete-jump");
  const deleted = new Set(operations.flatMap((op) => (op.kind === "delete-chain" ? [op.chain] : [])));
  const rulesLeft = table.rules.filter((r) => !planned.has(r.chain) && !(jumpGoes && r.chain === "FORWARD" && ruleLine(r) === OUR_JUMP));
  const chainsLeft = table.chains.filter((c) => c.policy === "-" && !deleted.has(c.name));
  return rulesLeft.length === 0 && chainsLeft.length === 0 && table.chains.every((c) => c.policy !== "DROP");
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
    listeners: parseListeners(sections.listeners),
  };
}

/** The changes that want rules in a family the host cannot filter, or a REJECT where DOCKER-USER lives in mangle, each with its error. */
function refuseUnavailable(snapshot: Snapshot, changes: readonly PlannedChange[], hostName: string): Map<string, FirewallError> {
  const refused = new Map<string, FirewallError>();
  const inMangle = FAMILIES.filter((f) => userTable(dockerLayout(snapshot[f])) === "mangle");
  for (const change of changes) {
    const family = snapshot.unavailable.find((f) => change.rules[f].length > 0);
    const mangled = inMangle.find((f) => change.rules[f].some((r) => chainOf(r.text) === DOCKER_USER && / -j REJECT( |$)/.test(r.text)));
    if (family) {
      const other = family === "ipv6" ? "ipv4" : "ipv6";
      refused.set(change.owner, new HostError(hostName, `${family === "ipv6" ? "ip6tables" : "iptables"} cannot be used on this host (the family is disabled or the tool is missing); set \`family: "${other}"\` to manage ${other} only`));
    } else if (mangled) {
      refused.set(change.owner, new HostError(hostName, `${mangled}: Docker does not jump to DOCKER-USER in this family, so our DOCKER-USER lives in the mangle table, where iptables has no REJECT: use DROP`));
    }
  }
  return refused;
}

/**
 * Reading back: after the transaction, planning each change again must
 * find nothing to do (but a table drop, which the host may not support).
 * Returns the changes for which it does not. When changes of distinct
 * owners, planned all together, find nothing to do, neither does any one of
 * them planned alone (its operations would be among the whole plan's), so
 * each is planned alone only when something is left: a batch of n changes
 * reads back in one plan, not n.
 */
function verify(after: Rulesets, changes: readonly PlannedChange[], hostName: string): Map<string, FirewallError> {
  const unverified = new Map<string, FirewallError>();
  const states = { ipv4: placeStates(after.ipv4), ipv6: placeStates(after.ipv6) };
  const family = (f: Family) => changes.map((c) => ({ owner: c.owner, rules: c.rules[f] }));
  const distinct = new Set(changes.map((c) => c.owner)).size === changes.length;
  if (distinct && FAMILIES.every((f) => planPlaces(after[f], states[f], family(f), false).length === 0)) return unverified;
  for (const change of changes) {
    const left = (f: Family) => planPlaces(after[f], states[f], [{ owner: change.owner, rules: change.rules[f] }], false);
    const rest = FAMILIES.flatMap((f) => left(f).map((op) => `${f}: ${op.kind}${"text" in op ? ` ${op.text}` : ""}`));
    if (rest.length > 0) unverified.set(change.owner, new FirewallError(`${hostName}: the firewall reads back different from what was applied; still to do:\n  ${rest.join("\n  ")}`));
  }
  return unverified;
}
