/**
 * How long a batch keeps gathering requests once none has come: the first
 * request on an idle queue waits this long for others, and every request
 * that comes meanwhile makes it wait this long again (at most
 * {@link BATCH_MAX_WAIT_MS} in all). Pulumi sends a program's creates one
 * gRPC call after another, each after its own `check`, while the provider
 * host handles every call on one thread: 500 creates come spread over a
 * few hundred milliseconds, and a fixed window cut them into several
 * transactions, each paying a read and an apply (measured by
 * `npm run bench -- provider-host-vs-per-rule`). A lone request pays 50 ms.
 */
export const BATCH_WINDOW_MS = 50;

/**
 * The longest a batch gathers while requests keep coming, counted from its
 * first request, so that a steady stream of calls still runs every second
 * or so.
 */
export const BATCH_MAX_WAIT_MS = 1000;

/** One request in a batch, to be settled by the kind that runs it. */
export interface QueuedItem<I, R> {
  readonly item: I;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A kind of work a host's queue runs: the firewall's transactions, the
 * daemon's file, Docker's CLI. A batch hands all the requests of a kind to
 * `run` at once, in the order they came, so a kind can do them together
 * (one transaction for many firewall changes) or one by one.
 */
export interface WorkKind<I, R> {
  /** What the kind does, for messages. */
  readonly name: string;
  /** Runs a batch of requests and settles each; a request it leaves unsettled fails with what `run` threw (or as unanswered). */
  run(batch: readonly QueuedItem<I, R>[]): Promise<void>;
}

/** An exclusive piece of work: an async function the queue runs alone. */
export type HostJob = () => Promise<unknown>;

/**
 * Jobs, one after another, each alone on the host: work that reads and
 * writes something other than the firewall (the daemon's file, a Docker
 * network), which must not interleave with a firewall transaction.
 */
export const HOST_JOBS: WorkKind<HostJob, unknown> = {
  name: "host jobs",
  async run(batch) {
    for (const { item, resolve, reject } of batch) await item().then(resolve, reject);
  },
};

interface Pending {
  readonly kind: WorkKind<unknown, unknown>;
  readonly entry: QueuedItem<unknown, unknown>;
}

/**
 * The one place with concurrency: a host's queue. Every request on a host,
 * of any kind, waits here; while a batch runs, new requests gather, and
 * when it ends they run as the next batch: each kind's requests together,
 * kinds in the order their first request came. So at most one thing
 * changes a host at a time from this process (the host-side lock orders
 * processes), and many changes of one kind cost one round trip.
 */
export class HostQueue {
  private pending: Pending[] = [];
  private running = false;
  /** While an idle queue's first batch gathers: when it began, and the timer that ends it. */
  private gathering?: { readonly since: number; readonly timer: NodeJS.Timeout };

  /** Queues a request of a kind; resolves or rejects when its batch has run it. */
  submit<I, R>(kind: WorkKind<I, R>, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry: QueuedItem<I, R> = { item, resolve, reject };
      this.pending.push({ kind: kind as WorkKind<unknown, unknown>, entry: entry as QueuedItem<unknown, unknown> });
      // While a batch runs, the queue waits for it; the next batch takes what came meanwhile.
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
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      for (const kind of new Set(batch.map((p) => p.kind))) {
        const open = new Set<QueuedItem<unknown, unknown>>();
        const entries = batch.filter((p) => p.kind === kind).map(({ entry }) => {
          const settle = <T>(settler: (value: T) => void) => (value: T) => {
            open.delete(tracked);
            settler(value);
          };
          const tracked: QueuedItem<unknown, unknown> = { item: entry.item, resolve: settle(entry.resolve), reject: settle(entry.reject) };
          open.add(tracked);
          return tracked;
        });
        let failure: unknown;
        try {
          await kind.run(entries);
        } catch (error) {
          failure = error;
        }
        for (const entry of open) entry.reject(failure ?? new Error(`${kind.name}: the request was left unanswered`));
      }
    }
    this.running = false;
  }
}
