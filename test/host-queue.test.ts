import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BATCH_MAX_WAIT_MS, BATCH_WINDOW_MS, HostQueue, type WorkKind } from "../provider/host-queue";
import { HostSession } from "../provider/host-session";
import { formatTag, parseTag } from "../provider/ownership";
import { FakeHost } from "../provider/testing/fake-host";

const DOCKER = readFileSync(join(__dirname, "fixtures/docker-20.10/02-published-8080.v4.txt"), "utf8");

/** A kind that records each batch it ran and answers each item with itself. */
function recordingKind(name: string, log: string[]): WorkKind<string, string> {
  return {
    name,
    async run(batch) {
      log.push(`${name}: ${batch.map((b) => b.item).join(",")}`);
      for (const b of batch) b.resolve(b.item);
    },
  };
}

function change(name: string) {
  const comment = formatTag({ owner: `p/s/rule/${name}`, priority: 500, index: 0 });
  return { owner: `p/s/rule/${name}`, rules: { ipv4: [{ text: `-A DOCKER-USER -m comment --comment "${comment}" -j DROP`, tag: parseTag(comment)! }], ipv6: [] } };
}

describe("HostQueue", () => {
  it("runs the requests that gather as one batch: each kind's together, kinds in the order their first request came", async () => {
    const queue = new HostQueue();
    const log: string[] = [];
    const [a, b] = [recordingKind("a", log), recordingKind("b", log)];
    const answers = await Promise.all([queue.submit(b, "1"), queue.submit(a, "2"), queue.submit(b, "3"), queue.submit(a, "4")]);
    expect(answers).toEqual(["1", "2", "3", "4"]);
    expect(log).toEqual(["b: 1,3", "a: 2,4"]);
  });

  it("gathers what arrives while a batch runs into the next batch", async () => {
    const queue = new HostQueue();
    const log: string[] = [];
    const kind = recordingKind("k", log);
    const first = queue.submit(kind, "1");
    await new Promise((resolve) => setTimeout(resolve, 60));
    await Promise.all([first, queue.submit(kind, "2"), queue.submit(kind, "3")]);
    expect(log).toEqual(["k: 1", "k: 2,3"]);
  });

  describe("gathering (fake timers)", () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it("keeps gathering while requests keep coming: ten requests 20 ms apart (180 ms in all) run as one batch", async () => {
      const queue = new HostQueue();
      const log: string[] = [];
      const kind = recordingKind("k", log);
      const answers: Promise<string>[] = [];
      for (let i = 0; i < 10; i++) {
        answers.push(queue.submit(kind, String(i)));
        await jest.advanceTimersByTimeAsync(20);
      }
      await jest.advanceTimersByTimeAsync(BATCH_WINDOW_MS);
      await Promise.all(answers);
      expect(log).toEqual(["k: 0,1,2,3,4,5,6,7,8,9"]);
    });

    it("runs a steady stream's first batch at most BATCH_MAX_WAIT_MS after its first request", async () => {
      const queue = new HostQueue();
      const log: string[] = [];
      const kind = recordingKind("k", log);
      const answers: Promise<string>[] = [];
      for (let i = 0; i < 80; i++) {
        answers.push(queue.submit(kind, String(i)));
        await jest.advanceTimersByTimeAsync(20);
      }
      await jest.advanceTimersByTimeAsync(BATCH_WINDOW_MS);
      await Promise.all(answers);
      expect(log.length).toBeGreaterThan(1);
      // The requests of 0, 20, …, 980 ms: the batch runs at 1000 ms.
      expect(log[0].split(",").length).toBe(BATCH_MAX_WAIT_MS / 20);
    });
  });

  it("fails the requests a kind leaves open with what it threw, or as unanswered, and goes on with the next kind", async () => {
    const queue = new HostQueue();
    const log: string[] = [];
    const throwing: WorkKind<string, string> = {
      name: "throwing",
      async run(batch) {
        batch[0].resolve("done");
        throw new Error("boom");
      },
    };
    const silent: WorkKind<string, string> = { name: "silent", async run() {} };
    const results = await Promise.allSettled([queue.submit(throwing, "x"), queue.submit(throwing, "y"), queue.submit(silent, "z"), queue.submit(recordingKind("ok", log), "w")]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual(["done", "boom", "silent: the request was left unanswered", "w"]);
    expect(log).toEqual(["ok: w"]);
  });

  it("never runs a firewall transaction while a job of the same host runs, and runs both in arrival order", async () => {
    const host = new FakeHost({ ipv4: DOCKER });
    const queue = new HostQueue();
    const session = new HostSession(host, "auto", queue);
    const events: string[] = [];
    let jobRunning = false;
    host.beforeApply = () => events.push(jobRunning ? "apply during the job" : "apply");
    const job = session.run(async (h) => {
      jobRunning = true;
      events.push(`job on ${h.name}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      jobRunning = false;
      return 42;
    });
    const applied = session.apply(change("a"));
    expect(await job).toBe(42);
    await applied;
    expect(events).toEqual(["job on fake", "apply"]);
  });

  it("is shared by the sessions of one host, whatever their backend", async () => {
    const host = new FakeHost({ ipv4: DOCKER });
    const queue = new HostQueue();
    const [auto, nft] = [new HostSession(host, "auto", queue), new HostSession(host, "nft", queue)];
    let running = 0;
    let overlapped = false;
    const job = (session: HostSession) =>
      session.run(async () => {
        overlapped ||= running > 0;
        running++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
      });
    await Promise.all([job(auto), job(nft), job(auto)]);
    expect(overlapped).toBe(false);
  });
});
