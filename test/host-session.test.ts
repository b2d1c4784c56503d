import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OUR_JUMP } from "../provider/chains";
import { RestoreError } from "../provider/errors";
import { driftOf, HostSession, type PlannedChange } from "../provider/host-session";
import { formatTag, parseTag } from "../provider/ownership";
import type { OwnedRule } from "../provider/planner";
import { FakeHost } from "../provider/testing/fake-host";

const DOCKER = readFileSync(join(__dirname, "fixtures/docker-20.10/02-published-8080.v4.txt"), "utf8");

function rule(name: string, priority = 500, extra = ""): OwnedRule {
  const comment = formatTag({ owner: `p/s/rule/${name}`, priority, index: 0 });
  return { text: `-A DOCKER-USER${extra} -m comment --comment "${comment}" -j DROP`, tag: parseTag(comment)! };
}
const v4only = (name: string, r: OwnedRule): PlannedChange => ({ owner: `p/s/rule/${name}`, rules: { ipv4: [r], ipv6: [] } });
const userChain = (host: FakeHost) => host.save("ipv4").split("\n").filter((l) => l.startsWith("-A DOCKER-USER"));

describe("HostSession (fake host)", () => {
  it("one `up` repairs a foreign rule slipped above the stack's block: refresh reports every resource below it, and one change moves them all; another stack's rules are left alone", async () => {
    const host = new FakeHost({ ipv4: DOCKER });
    const session = new HostSession(host, "auto");
    const other = { ...v4only("x", rule("x", 100)), owner: "q/t/rule/x", rules: { ipv4: [{ ...rule("x", 100), text: rule("x", 100).text.replace("p/s/rule/x", "q/t/rule/x"), tag: { ...rule("x", 100).tag, owner: "q/t/rule/x" } }], ipv6: [] } };
    await Promise.all([session.apply(v4only("a", rule("a", 200))), session.apply(v4only("b", rule("b", 300)))]);
    const foreign = "-A DOCKER-USER -s 192.0.2.99/32 -j ACCEPT";
    host.edit("ipv4", `*filter\n-I DOCKER-USER 1 -s 192.0.2.99/32 -j ACCEPT\nCOMMIT\n`);
    const snapshot = await session.read();
    for (const [name, priority] of [["a", 200], ["b", 300]] as const) {
      expect(driftOf(snapshot, v4only(name, rule(name, priority)), "fake")).toEqual([`ipv4: out of place, below the foreign rule ${foreign}: ${rule(name, priority).text}`]);
    }
    await session.apply(v4only("b", rule("b", 300)));
    expect(userChain(host)).toEqual([rule("a", 200).text, rule("b", 300).text, foreign, "-A DOCKER-USER -j RETURN"]);
    // Another stack's rule below the foreign one is never moved by this stack, and pins this stack's later rules below it.
    await session.apply(other);
    host.edit("ipv4", `*filter\n-D DOCKER-USER -s 192.0.2.99/32 -j ACCEPT\n-I DOCKER-USER 1 -s 192.0.2.99/32 -j ACCEPT\nCOMMIT\n`);
    await session.apply(v4only("b", rule("b", 300)));
    expect(userChain(host)).toEqual([foreign, other.rules.ipv4[0].text, rule("a", 200).text, rule("b", 300).text, "-A DOCKER-USER -j RETURN"]);
  });

  it("reads once and applies once for a change, and not at all when nothing changes", async () => {
    const host = new FakeHost({ ipv4: DOCKER });
    const session = new HostSession(host, "auto");
    await session.apply(v4only("a", rule("a")));
    expect(host.calls).toEqual(["read", "apply"]);
    await session.apply(v4only("a", rule("a")));
    expect(host.calls).toEqual(["read", "apply", "read"]);
    expect(userChain(host)).toEqual([rule("a").text, "-A DOCKER-USER -j RETURN"]);
  });

  it("a change pinned to nftables on a host without nft is refused by itself, naming what to install; nothing is written", async () => {
    const host = new FakeHost({ ipv4: DOCKER });
    const session = new HostSession(host, "auto");
    const results = await Promise.allSettled([session.apply({ ...v4only("n", rule("n")), firewall: "nftables" }), session.apply(v4only("a", rule("a")))]);
    expect(results[0]).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/nft is not installed on this host \(Debian and Ubuntu: apt-get install nftables\)/) } });
    expect(results[1].status).toBe("fulfilled");
    expect(userChain(host)).toEqual([rule("a").text, "-A DOCKER-USER -j RETURN"]);
    // Removing its rules is never refused: there are none nft could hold.
    await session.apply({ owner: "p/s/rule/n", firewall: "nftables", rules: { ipv4: [], ipv6: [] } });
  });

  it("groups changes that wait for the lock into one read and one transaction", async () => {
    const host = new FakeHost({ ipv4: DOCKER });
    const session = new HostSession(host, "auto");
    const names = Array.from({ length: 50 }, (_, i) => `r${String(i).padStart(2, "0")}`);
    await Promise.all(names.map((n, i) => session.apply(v4only(n, rule(n, 999 - i * 10)))));
    expect(host.calls).toEqual(["read", "apply"]);
    expect(userChain(host)).toEqual([...names.reverse().map((n, i) => rule(n, 999 - (49 - i) * 10).text), "-A DOCKER-USER -j RETURN"]);
  });

  it("re-plans against the tables the conflict answer carries when the chain changed between read and apply (no extra read)", async () => {
    const host = new FakeHost({ ipv4: DOCKER });
    let edits = 0;
    host.beforeApply = () => {
      if (edits++ === 0) host.edit("ipv4", "*filter\n-I DOCKER-USER 1 -s 192.0.2.99/32 -j ACCEPT\nCOMMIT\n");
    };
    await new HostSession(host, "auto").apply(v4only("a", rule("a")));
    expect(userChain(host)).toEqual([rule("a").text, "-A DOCKER-USER -s 192.0.2.99/32 -j ACCEPT", "-A DOCKER-USER -j RETURN"]);
    expect(host.calls).toEqual(["read", "apply", "apply"]);
  });

  it("fails a rejected change alone, lands the others, and leaves the host unchanged by the failure", async () => {
    const host = new FakeHost({ ipv4: DOCKER }, { rejects: /-i bad0/ });
    const session = new HostSession(host, "auto");
    const results = await Promise.allSettled([
      session.apply(v4only("good1", rule("good1"))),
      session.apply(v4only("bad", rule("bad", 500, " -i bad0"))),
      session.apply(v4only("good2", rule("good2"))),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const error = (results[1] as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(RestoreError);
    expect(error.message).toMatch(/rejected the transaction/);
    expect(error.failedLine).toContain("-i bad0");
    expect(userChain(host)).toEqual([rule("good1").text, rule("good2").text, "-A DOCKER-USER -j RETURN"]);
  });

  it.each([
    ["one bad change", [41], 13],
    ["the first and the last bad", [0, 63], 23],
  ])("finds %s among 64 by halving the batch, each half its own transaction", async (_title, badIndexes, transactions) => {
    const host = new FakeHost({ ipv4: DOCKER }, { rejects: /-i bad0/ });
    const session = new HostSession(host, "auto");
    const names = Array.from({ length: 64 }, (_, i) => `r${String(i).padStart(2, "0")}`);
    const bad = new Set(badIndexes);
    const results = await Promise.allSettled(names.map((n, i) => session.apply(v4only(n, rule(n, 500, bad.has(i) ? " -i bad0" : "")))));
    expect(results.flatMap((r, i) => (r.status === "rejected" ? [i] : []))).toEqual(badIndexes);
    for (const i of badIndexes) {
      const error = (results[i] as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(RestoreError);
      expect(error.failedLine).toContain(`r${String(i).padStart(2, "0")}`);
    }
    expect(userChain(host)).toEqual([...names.filter((_, i) => !bad.has(i)).map((n) => rule(n).text), "-A DOCKER-USER -j RETURN"]);
    // The whole batch, then two halves per level down to each bad change (log2(64) = 6 levels): 1 + 2 · 6; with two bad, 1 + 2 + 2 · 2 · 5.
    const applies = host.calls.filter((call) => call === "apply").length;
    expect(applies).toBe(transactions);
  });

  it("a rule the kernel refuses in ipv6 after ipv4 was applied: ipv4 is taken back by its inverse, that change fails alone, the others land", async () => {
    const host = new FakeHost({ ipv4: DOCKER }, { kernelRejects: /-i bomb0/ });
    const session = new HostSession(host, "auto");
    const both = (name: string, extra = "") => ({ owner: `p/s/rule/${name}`, rules: { ipv4: [rule(name)], ipv6: [rule(name, 500, extra)] } });
    const [good, bad] = await Promise.allSettled([session.apply(both("good")), session.apply(both("bad", " -i bomb0"))]);
    expect(good.status).toBe("fulfilled");
    const error = (bad as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(RestoreError);
    expect(error.message).toMatch(/ip6tables-restore.*failed after its test passed; ipv4's part was rolled back, nothing was changed \(read back\)/);
    expect(userChain(host)).toEqual([rule("good").text, "-A DOCKER-USER -j RETURN"]);
  });

  it("a lone rejected change fails alone: reads queued with it still get the host's rules", async () => {
    const host = new FakeHost({ ipv4: DOCKER }, { rejects: /-i bad0/ });
    const session = new HostSession(host, "auto");
    const [bad, read] = await Promise.allSettled([session.apply(v4only("bad", rule("bad", 500, " -i bad0"))), session.read()]);
    expect(bad.status).toBe("rejected");
    expect(read.status).toBe("fulfilled");
  });

  it("a change that does not read back as planned fails by itself; the others in its transaction succeed", async () => {
    const host = new FakeHost({ ipv4: DOCKER }, { printsAs: (line) => line.replace(" -i odd0", " -i odd0+") });
    const session = new HostSession(host, "auto");
    const [good, odd] = await Promise.allSettled([session.apply(v4only("good", rule("good"))), session.apply(v4only("odd", rule("odd", 500, " -i odd0")))]);
    expect(good.status).toBe("fulfilled");
    expect(odd.status).toBe("rejected");
    expect((odd as PromiseRejectedResult).reason.message).toMatch(/reads back different from what was applied/);
  });

  it("on a host where ip6tables cannot be used, IPv4 work goes on and a change that needs IPv6 says what to do", async () => {
    const host = new FakeHost({ ipv4: DOCKER }, { ipv6Unavailable: true });
    const session = new HostSession(host, "auto");
    const [v4, both] = await Promise.allSettled([
      session.apply(v4only("v4", rule("v4"))),
      session.apply({ owner: "p/s/rule/both", rules: { ipv4: [rule("both")], ipv6: [rule("both")] } }),
    ]);
    expect(v4.status).toBe("fulfilled");
    expect((both as PromiseRejectedResult).reason.message).toMatch(/ip6tables cannot be used on this host .*set `family: "ipv4"`/);
    expect(userChain(host)).toEqual([rule("v4").text, "-A DOCKER-USER -j RETURN"]);
    expect((await session.read()).unavailable).toEqual(["ipv6"]);
  });

  it("serves reads from one command", async () => {
    const host = new FakeHost({ ipv4: DOCKER });
    const session = new HostSession(host, "auto");
    const [a, b] = await Promise.all([session.read(), session.read()]);
    expect(a).toBe(b);
    expect(host.calls).toEqual(["read"]);
  });

  it("where Docker manages FORWARD without a DOCKER-USER (ipv6 on 20.10), puts DOCKER-USER and our jump in the mangle table, and removes the table with our last rule", async () => {
    const v6 = readFileSync(join(__dirname, "fixtures/docker-20.10/ipv6-02-published-8080.v6.txt"), "utf8");
    const host = new FakeHost({ ipv4: DOCKER, ipv6: v6 });
    const session = new HostSession(host, "auto");
    const created = await session.apply({ owner: "p/s/rule/a", rules: { ipv4: [rule("a")], ipv6: [rule("a")] } });
    expect(created.operations.ipv6.map((op) => `${op.table} ${op.kind}`)).toEqual(["mangle create-chain", "mangle insert-jump", "mangle insert"]);
    const mangle = host.save("ipv6").split("*mangle\n")[1];
    expect(mangle.split("\n").filter((l) => l.startsWith("-A "))).toEqual([OUR_JUMP, rule("a").text]);
    // Docker's filter table is untouched.
    expect(host.save("ipv6").split("*mangle")[0]).toBe(v6);
    await session.apply({ owner: "p/s/rule/a", rules: { ipv4: [], ipv6: [] } });
    expect(host.save("ipv6")).toBe(v6);
    expect(host.save("ipv4")).toBe(DOCKER);
  });
});
