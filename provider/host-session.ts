import { randomBytes } from "node:crypto";
import { HOST_JOBS, HostQueue, type QueuedItem, type WorkKind } from "./host-queue";
import { chainOf, chainState, GUARDED_CHAINS, GUARDED_PLACES, OUR_JUMP, tagOfLine, userTable, type ChainState, type GuardedPlace, type GuardedTable } from "./chains";
import { familyOutcome, type FamilyOutcome } from "./apply-outcome";
import { rejectedLineNumber } from "./command-failure";
import { parseListeners, type Listener } from "./docker/listeners";
import { nftStateOf, type NftState } from "./nft-state";
import { ownedLiveRules, ownersOnHost } from "./live-rules";
import { stackOf } from "./ownership";
import { NO_NFT_PLAN, nftRules, planNft, type NftPlan } from "./nft-plan";
import { firewallOf, nftUnusable, type FirewallChoice } from "./firewall-choice";
import { DOCKER_USER, dockerLayout } from "./docker/layout";
import { FirewallError, HostError, RestoreError, TransactionError } from "./errors";
import { describePlan } from "./drift";
import { FAMILIES, type Family } from "./family";
import { speaksProtocol, type FirewallProtocol, type ReadOutput } from "./host-protocol";
import { scriptProtocol } from "./host-scripts";
import type { Host } from "./host/host";
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
  /** What nftables holds of Docker's tables (Docker's nftables backend) and ours, as read. */
  readonly nft: NftState;
}

/** One family's rules, per family. */
export type FamilyRules = Readonly<Record<Family, readonly OwnedRule[]>>;

/** One resource's desired rules per family; empty lists remove its rules. */
export interface ChangeRequest {
  /** The owner key of the resource (`<project>/<stack>/<kind>/<name>`). */
  readonly owner: string;
  /**
   * Which firewall its rules live in (see firewall-choice.ts); its rules in
   * the other one are removed.
   * @default "auto"
   */
  readonly firewall?: FirewallChoice;
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

/** A queued firewall request: a change, or a read (no change). */
type FirewallRequest = QueuedItem<ChangeRequest | undefined, ChangeResult>;

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
 * A host's firewall, and the door to its queue: every read and change of
 * the firewall, and every other job on the host (the daemon's file, Docker
 * networks), goes through the host's {@link HostQueue}. Firewall requests
 * that gather while a batch runs are planned together against one fresh
 * read and applied in one transaction (group commit). Each request gets
 * its own result: if the combined transaction is rejected, it is halved,
 * each half applied on its own and halved again while it is rejected, so a
 * bad change fails by itself in a few transactions; and a change that does
 * not read back as planned fails without failing the others.
 */
export class HostSession {
  /** The firewall's kind of work on the queue: a batch of reads and changes, one transaction. */
  private readonly transactions: WorkKind<ChangeRequest | undefined, ChangeResult> = {
    name: "firewall transactions",
    run: (batch) => this.runBatch(batch),
  };

  /** The host's firewall, through the host protocol. */
  private readonly firewall: FirewallProtocol;

  /**
   * @param host where the firewall is
   * @param backend which iptables variant to run
   * @param queue the host's queue, shared by every session on the host
   */
  constructor(
    readonly host: Host,
    readonly backend: Backend,
    private readonly queue: HostQueue = new HostQueue(),
  ) {
    this.firewall = speaksProtocol(host) ? host.firewall : scriptProtocol(host, backend);
  }

  /** Reads the host's firewall (one command on the host, shared with queued requests). */
  async read(): Promise<Snapshot> {
    return (await this.queue.submit(this.transactions, undefined)).snapshot;
  }

  /** Makes the host hold exactly `change.rules` for its owner; resolves once verified. */
  apply(change: ChangeRequest): Promise<ChangeResult> {
    return this.queue.submit(this.transactions, change);
  }

  /**
   * Runs a job on the host alone, in the host's queue (between firewall
   * batches): for work on the host that is not a firewall change, such as
   * writing the daemon's file or creating a Docker network. The job must
   * not wait for this session's `read` or `apply` (they would wait for it).
   */
  run<T>(job: (host: Host) => Promise<T>): Promise<T> {
    return this.queue.submit(HOST_JOBS, () => job(this.host)) as Promise<T>;
  }

  private async runBatch(batch: readonly FirewallRequest[]): Promise<void> {
    const changes = batch.filter((p) => p.item);
    const reads = batch.filter((p) => !p.item);
    let outcome: Outcome;
    try {
      outcome = await this.transact(changes.map((p) => p.item!));
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
      const failure = p.item && outcome.unverified.get(p.item.owner);
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
      const placed = placeChanges(before, changes, this.host.name);
      const plan = planPlaced(before, placed);
      if (isEmptyPlan(plan)) return { snapshot: before, operations: plan.operations, unverified: placed.refused };
      const applied = await this.applyOperations(before, plan, ticket);
      if (applied.conflict) {
        if (Date.now() - started > CONFLICT_BUDGET_MS) {
          const seconds = Math.round((Date.now() - started) / 1000);
          throw new HostError(this.host.name, `the firewall kept changing for ${seconds} s while we applied (${attempt} attempts); is another tool rewriting DOCKER-USER, INPUT or FORWARD, or our nftables tables?`);
        }
        before = applied.snapshot;
        continue;
      }
      const after = applied.snapshot;
      const again = placeChanges(after, changes.filter((c) => !placed.refused.has(c.owner)), this.host.name);
      return { snapshot: after, operations: plan.operations, unverified: new Map([...placed.refused, ...again.refused, ...verify(after, again, this.host.name)]) };
    }
  }

  private async readSnapshot(afterLock = false): Promise<Snapshot> {
    return snapshotOf(await this.firewall.read({ afterLock }));
  }

  /**
   * Runs the apply. Resolves with the host afterwards, or with the tables
   * of a conflict; throws where it changed nothing (the lock, a rejected
   * test) and, for every other failure, once the host has been read back
   * to say what it holds (see {@link readBack}).
   */
  private async applyOperations(before: Snapshot, plan: TransactionPlan, ticket: string): Promise<Applied> {
    const { iptables: operations, nft } = plan;
    const inputs = { ipv4: restoreInput(operations.ipv4), ipv6: restoreInput(operations.ipv6), nft: nft.script };
    const dropTables = (f: Family) => operations[f].flatMap((op) => (op.kind === "delete-table" ? [op.table ?? ("filter" as const)] : []));
    const work = {
      ipv4: { restore: inputs.ipv4, dropTables: dropTables("ipv4") },
      ipv6: { restore: inputs.ipv6, dropTables: dropTables("ipv6") },
      undoIpv4: inputs.ipv6 === "" ? "" : rollbackInput(before.ipv4, operations.ipv4),
      nft: nft.script,
    };
    const answer = await this.firewall.apply({ fingerprints: before.fingerprints, nftFingerprint: before.nft.fingerprint, ticket, work });
    switch (answer.outcome) {
      case "applied":
        return { conflict: false, snapshot: snapshotOf(answer.tables) };
      case "conflict":
        return { conflict: true, snapshot: snapshotOf(answer.tables) };
      case "refused":
        throw answer.error;
      case "rejected":
        throw restoreError(this.host.name, answer.family, inputs[answer.family], answer, "rejected the transaction (nothing was changed)");
      case "unfinished":
        return this.readBack(before, plan, answer.what);
      case "failed":
        return this.readBack(before, plan, answer.what, answer.family && { ...answer, family: answer.family, input: inputs[answer.family], rolledBack: answer.family === "ipv6" && inputs.ipv4 !== "" });
    }
  }

  /**
   * After an apply that failed where it may have changed the host: reads
   * the host (waiting for the host lock, so as not to see the command
   * halfway if it runs on) and tells per family what it holds. When every
   * family holds the whole transaction, it stands as applied. When none
   * holds any of it and a family's restore failed, that is a `RestoreError`
   * (a change iptables refused, which fails alone); anything else is a
   * `TransactionError` that says what each family holds.
   */
  private async readBack(before: Snapshot, plan: TransactionPlan, what: string, restore?: FailedRestore): Promise<Applied> {
    const operations = plan.iptables;
    let now: Snapshot;
    try {
      now = await this.readSnapshot(true);
    } catch (error) {
      throw new TransactionError(this.host.name, what, undefined, error instanceof Error ? error.message : String(error));
    }
    const changed = FAMILIES.filter((f) => operations[f].some((op) => op.kind !== "delete-table"));
    const outcomes: Partial<Record<Family | "nftables", FamilyOutcome>> = Object.fromEntries(changed.map((f) => [f, familyOutcome(before[f], operations[f], now[f])]));
    // nft applies a script whole or not at all: it is applied when planning it again finds nothing to do.
    if (plan.nft.script !== "") outcomes.nftables = FAMILIES.every((f) => planNft(now.nft, plan.nftChanges).operations[f].every((op) => op.kind === "delete-table")) ? "applied" : "not applied";
    if (Object.values(outcomes).every((o) => o === "applied")) return { conflict: false, snapshot: now };
    if (restore && Object.values(outcomes).every((o) => o === "not applied")) {
      const rolledBack = restore.rolledBack ? "ipv4's part was rolled back, " : "";
      throw restoreError(this.host.name, restore.family, restore.input, restore, `failed after its test passed; ${rolledBack}nothing was changed (read back)`);
    }
    throw new TransactionError(this.host.name, what, outcomes);
  }
}

/** A family's restore that failed after its test passed: its input and what the tool said. */
interface FailedRestore {
  readonly family: Family;
  readonly input: string;
  readonly code: number;
  readonly stderr: string;
  /** Whether ipv4's part was taken back (ipv6 failed after ipv4 applied). */
  readonly rolledBack: boolean;
}

/** What the apply command came to: the host afterwards, or (on a conflict) as read under the lock. */
interface Applied {
  readonly conflict: boolean;
  readonly snapshot: Snapshot;
}

/** A `RestoreError` for a family's restore input, naming the line iptables refused when it names one. */
function restoreError(hostName: string, family: Family | "nft", input: string, failed: { readonly code: number; readonly stderr: string }, what: string): RestoreError {
  const line = rejectedLineNumber(failed.stderr);
  const failedLine = line === undefined ? undefined : input.split("\n")[line - 1];
  const tool = family === "nft" ? ["nft", "-f"] : [`${family === "ipv4" ? "iptables" : "ip6tables"}-restore`, "--noflush"];
  return new RestoreError(hostName, tool, failed.code, `${what}: ${failed.stderr.trim()}`, failedLine === "COMMIT" ? undefined : failedLine);
}

/** What one transaction did: the host afterwards, its operations, and the changes that did not read back as planned. */
interface Outcome {
  readonly snapshot: Snapshot;
  readonly operations: Record<Family, readonly Operation[]>;
  readonly unverified: ReadonlyMap<string, FirewallError>;
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

/** The snapshot a read gives. */
export function snapshotOf(read: ReadOutput): Snapshot {
  return {
    ipv4: parseSave(read.ipv4.save),
    ipv6: parseSave(read.ipv6.save),
    fingerprints: { ipv4: read.ipv4.fingerprint ?? "", ipv6: read.ipv6.fingerprint ?? "" },
    unavailable: FAMILIES.filter((f) => read[f].fingerprint === undefined),
    listeners: parseListeners(read.listeners),
    nft: nftStateOf(read.nft),
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
 * find nothing to do, on iptables (but a table drop, which the host may not
 * support) and in our nftables tables. Returns the changes for which it
 * does not. When changes of distinct owners, planned all together, find
 * nothing to do, neither does any one of them planned alone (its operations
 * would be among the whole plan's), so each is planned alone only when
 * something is left: a batch of n changes reads back in one plan, not n.
 */
function verify(after: Snapshot, placed: PlacedChanges, hostName: string): Map<string, FirewallError> {
  const unverified = new Map<string, FirewallError>();
  const states = { ipv4: placeStates(after.ipv4), ipv6: placeStates(after.ipv6) };
  const leftOf = (iptables: readonly PlannedChange[], nft: readonly PlannedChange[], f: Family) => [
    ...planPlaces(after[f], states[f], iptables.map((c) => ({ owner: c.owner, rules: c.rules[f] })), false),
    ...(after.nft.status === "ready" ? planNft(after.nft, nft).operations[f].filter((op) => op.kind !== "delete-table") : []),
  ];
  const distinct = new Set(placed.iptables.map((c) => c.owner)).size === placed.iptables.length;
  if (distinct && FAMILIES.every((f) => leftOf(placed.iptables, placed.nft, f).length === 0)) return unverified;
  placed.iptables.forEach((change, i) => {
    const left = (f: Family) => leftOf([change], [placed.nft[i]], f);
    const rest = FAMILIES.flatMap((f) => left(f).map((op) => `${f}: ${op.kind}${"text" in op ? ` ${op.text}` : ""}`));
    if (rest.length > 0) unverified.set(change.owner, new FirewallError(`${hostName}: the firewall reads back different from what was applied; still to do:\n  ${rest.join("\n  ")}`));
  });
  return unverified;
}

/** No rules in either family: what a change wants where its rules do not live. */
const NO_RULES: FamilyRules = { ipv4: [], ipv6: [] };

/**
 * Where each change's rules go on the host as read, and the changes that
 * cannot be made there. Every change that can be made is in both lists, in
 * the same order: with its rules in the firewall it lives in, and with none
 * in the other (so a resource whose firewall changed moves: its rules
 * leave the one and come to the other in one transaction).
 */
export interface PlacedChanges {
  readonly iptables: readonly PlannedChange[];
  readonly nft: readonly PlannedChange[];
  readonly refused: ReadonlyMap<string, FirewallError>;
}

/** Computes each change's rules for the host as read and the firewall they live in (see {@link PlacedChanges}). */
export function placeChanges(snapshot: Snapshot, changes: readonly ChangeRequest[], hostName: string): PlacedChanges {
  const wanted = changes.map((c) => ({ owner: c.owner, rules: rulesFor(c, snapshot), firewall: firewallOf(snapshot.nft, c.firewall) }));
  const refused = refuseUnavailable(snapshot, wanted.filter((c) => c.firewall === "iptables"), hostName);
  const unusable = nftUnusable(snapshot.nft);
  for (const c of wanted.filter((c) => c.firewall === "nftables" && FAMILIES.some((f) => c.rules[f].length > 0))) {
    if (unusable) {
      refused.set(c.owner, new HostError(hostName, `${unusable}: our rules live in nftables tables here (Docker runs on nftables, or firewall: "nftables" was set)`));
      continue;
    }
    try {
      for (const f of FAMILIES) for (const chain of GUARDED_CHAINS) nftRules(c.rules[f], f, chain);
    } catch (error) {
      refused.set(c.owner, error instanceof FirewallError ? error : new FirewallError(String(error)));
    }
  }
  const doable = wanted.filter((c) => !refused.has(c.owner));
  return {
    iptables: doable.map((c) => ({ owner: c.owner, rules: c.firewall === "iptables" ? c.rules : NO_RULES })),
    nft: doable.map((c) => ({ owner: c.owner, rules: c.firewall === "nftables" ? c.rules : NO_RULES })),
    refused,
  };
}

/** One transaction's plan: iptables operations per family, our nftables tables' script, and both kinds of operation per family (for messages). */
export interface TransactionPlan {
  readonly iptables: Record<Family, readonly Operation[]>;
  readonly nft: NftPlan;
  /** The changes as the nft plan saw them, to plan again when reading back. */
  readonly nftChanges: readonly PlannedChange[];
  readonly operations: Record<Family, readonly Operation[]>;
}

/**
 * Plans placed changes on iptables and in our nftables tables (where nft
 * can be used). On iptables, the other resources of the changes' stacks
 * move with them, their rules kept as they are: when a foreign rule slipped
 * above our block, every rule of the stack goes back above it in one
 * transaction, so one `up` repairs it all.
 */
export function planPlaced(snapshot: Snapshot, placed: PlacedChanges): TransactionPlan {
  const iptables = planAll(snapshot, [...placed.iptables, ...stackCompanions(snapshot, placed.iptables)]);
  const nft = snapshot.nft.status === "ready" ? planNft(snapshot.nft, placed.nft) : NO_NFT_PLAN;
  return { iptables, nft, nftChanges: placed.nft, operations: { ipv4: [...iptables.ipv4, ...nft.operations.ipv4], ipv6: [...iptables.ipv6, ...nft.operations.ipv6] } };
}

/**
 * What an `up` would repair for one resource on the host as read, in
 * words (see drift.ts): planning it and describing the plan is how drift is
 * detected, so `refresh` and `up` never disagree. A change that cannot be
 * made on the host says why.
 */
export function driftOf(snapshot: Snapshot, change: ChangeRequest, hostName: string): string[] {
  const placed = placeChanges(snapshot, [change], hostName);
  const refused = placed.refused.get(change.owner);
  if (refused) return [refused.message];
  const plan = planPlaced(snapshot, placed);
  // The plan moves the stack's other resources too; each reports its own rules.
  const its = (op: Operation) => op.kind !== "delete-table" && (!("text" in op) || tagOfLine(op.text)?.owner === change.owner);
  return FAMILIES.flatMap((f) => [...describePlan(f, plan.iptables[f].filter(its)), ...describePlan(f, plan.nft.operations[f].filter((op) => op.kind !== "delete-table"), "nftables")]);
}

/** The other resources of the changes' stacks with rules on iptables here, each wanting its rules there as they are. */
function stackCompanions(snapshot: Snapshot, changes: readonly PlannedChange[]): PlannedChange[] {
  const stacks = new Set(changes.map((c) => stackOf(c.owner)));
  const changing = new Set(changes.map((c) => c.owner));
  const onIptables = (owner: string, f: Family) => ownedLiveRules(snapshot, f, owner).flatMap((r) => (r.firewall === "iptables" && r.tag ? [{ text: r.text, tag: r.tag }] : []));
  return ownersOnHost(snapshot)
    .filter((owner) => !changing.has(owner) && stacks.has(stackOf(owner)))
    .map((owner) => ({ owner, rules: { ipv4: onIptables(owner, "ipv4"), ipv6: onIptables(owner, "ipv6") } }));
}

/** Whether a plan changes nothing. */
function isEmptyPlan(plan: TransactionPlan): boolean {
  return FAMILIES.every((f) => plan.operations[f].length === 0);
}
