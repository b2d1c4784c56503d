import * as fs from "node:fs";
import * as path from "node:path";
import { OUR_JUMP } from "../../provider/chains";
import { DOCKER_USER } from "../../provider/docker/layout";
import { describeDrift, describePlan } from "../../provider/drift";
import { RestoreError } from "../../provider/errors";
import { FAMILIES, type Family } from "../../provider/family";
import type { Ruleset } from "../../provider/iptables/ruleset";
import { APPLY_EXIT, applyCommand, readCommand } from "../../provider/host-scripts";
import { HostSession, planFamily, type PlannedChange, type ChangeResult, type Snapshot } from "../../provider/host-session";
import type { ExecOptions, ExecResult, Host } from "../../provider/host/host";
import { backendSuffix, type Backend } from "../../provider/iptables/backend";
import { tokenize } from "../../provider/iptables/tokens";
import { compareTags, formatTag, parseTag } from "../../provider/ownership";
import type { OwnedRule } from "../../provider/planner";
import { ownedRules, type RuleMatch } from "../../provider/resources/docker-user-rule";
import { Netns } from "../support/netns";

/*
 * The host session against real iptables (nf_tables and legacy) in network
 * namespaces preloaded with what Docker 20.10 writes: create, update and
 * delete leave everything that is not ours byte for byte as it was; group
 * commit, atomicity, rollback, conflict detection and drift repair hold on
 * the real thing, and the number of commands run is counted.
 */

const BACKENDS: readonly Exclude<Backend, "auto">[] = ["nft", "legacy"];
const FIXTURES = path.join(__dirname, "../fixtures/docker-20.10");
/** Docker 20.10 with one published port, IPv6 on: ip6tables has no DOCKER-USER. */
/**
 * Docker 20.10's IPv4 rules, and an IPv6 firewall Docker does not manage
 * (its default before 27) holding one rule of the admin's: there the engine
 * makes DOCKER-USER and its own jump in the filter table. (Where Docker
 * manages IPv6 without a DOCKER-USER, 20.10 with ip6tables on, they go to
 * the mangle table: leave-no-trace.test.ts and the e2e tests.)
 */
const DOCKER: Record<Family, string> = {
  ipv4: fs.readFileSync(path.join(FIXTURES, "ipv6-02-published-8080.v4.txt"), "utf8"),
  ipv6: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
};
const DOCKER_RETURN = `-A ${DOCKER_USER} -j RETURN`;

/** One command the session ran: which of the two scripts, and its exit code. */
interface Command {
  readonly kind: "read" | "apply";
  readonly code: number;
}

/**
 * A namespace seen through the engine's eyes, logging every command the
 * session runs, with a hook that runs just before an apply is forwarded.
 */
class CountingHost implements Host {
  readonly log: Command[] = [];
  /** Runs before each apply command reaches the namespace. */
  beforeApply?: () => Promise<void>;

  constructor(
    readonly ns: Netns,
    private readonly backend: Backend,
  ) {}

  get name(): string {
    return this.ns.name;
  }

  async exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    const kind = argv[2] === readCommand(this.backend).argv[2] ? "read" : argv[2] === applyCommand(this.backend, { ipv4: "", ipv6: "" }).argv[2] ? "apply" : undefined;
    if (!kind) throw new Error(`the session ran an unexpected command: ${argv.join(" ")}`);
    if (kind === "apply") await this.beforeApply?.();
    const result = await this.ns.exec(argv, options);
    this.log.push({ kind, code: result.code });
    return result;
  }

  /** How many reads and applies have run. */
  counts(): { reads: number; applies: number } {
    return { reads: this.log.filter((c) => c.kind === "read").length, applies: this.log.filter((c) => c.kind === "apply").length };
  }

  readFile(p: string): Promise<string | undefined> {
    return this.ns.readFile(p);
  }

  writeFile(p: string, content: string): Promise<void> {
    return this.ns.writeFile(p, content);
  }

  async close(): Promise<void> {}
}

/** The iptables binary of a family and backend (`ip6tables-legacy`, `iptables-nft-save`). */
function binary(family: Family, backend: Backend, tool: "" | "-save" | "-restore" = ""): string {
  return `${family === "ipv4" ? "iptables" : "ip6tables"}${backendSuffix(backend)}${tool}`;
}

/** Everything a family's iptables-save prints, without the timestamped comment lines. */
async function saveBody(ns: Netns, family: Family, backend: Backend): Promise<string> {
  const text = await ns.run([binary(family, backend, "-save")]);
  return text.split("\n").filter((l) => !l.startsWith("#")).join("\n");
}

/** Both families' save bodies. */
async function saveBoth(ns: Netns, backend: Backend): Promise<Record<Family, string>> {
  return { ipv4: await saveBody(ns, "ipv4", backend), ipv6: await saveBody(ns, "ipv6", backend) };
}

/** The rules of one chain as saved, in order. */
async function chain(ns: Netns, family: Family, backend: Backend, name = DOCKER_USER): Promise<string[]> {
  return (await saveBody(ns, family, backend)).split("\n").filter((l) => l.startsWith(`-A ${name} `));
}

/** Runs one iptables command (argv after the binary) in the namespace. */
function iptables(ns: Netns, family: Family, backend: Backend, ...args: string[]): Promise<string> {
  return ns.run([binary(family, backend), "-w", ...args]);
}

/** The words of a saved rule after `-A CHAIN`, as argv for `iptables -D/-R/-A`. */
function ruleArgs(line: string): string[] {
  return tokenize(line).slice(2).map((t) => t.text);
}

/** Gives a namespace to `body`, preloaded with Docker's rules unless `fresh`, and always deletes it. */
async function withNamespace<T>(backend: Backend, options: { fresh?: boolean }, body: (ns: Netns, host: CountingHost) => Promise<T>): Promise<T> {
  const ns = await Netns.create(`hs${backend.slice(0, 3)}`);
  try {
    if (!options.fresh) for (const family of FAMILIES) await ns.run([binary(family, backend, "-restore")], { stdin: DOCKER[family] });
    return await body(ns, new CountingHost(ns, backend));
  } finally {
    await ns.delete();
  }
}

const owner = (name: string) => `hs/real/rule/${name}`;

/** The change that makes `name` hold exactly the rules built from `args` (in every family they apply to). */
function change(name: string, ...args: RuleMatch[]): PlannedChange {
  return { owner: owner(name), rules: ownedRules(owner(name), args) };
}

/** The change that removes every rule of `name`. */
function removal(name: string): PlannedChange {
  return { owner: owner(name), rules: { ipv4: [], ipv6: [] } };
}

/** An owned rule with text we write by hand (to reach iptables with what user input cannot express). */
function handRule(name: string, body: string): OwnedRule {
  const comment = formatTag({ owner: owner(name), priority: 500, index: 0 });
  return { text: `-A ${DOCKER_USER} ${body} -m comment --comment "${comment}" -j DROP`.replace(/ {2,}/g, " "), tag: parseTag(comment)! };
}

/** The rule texts of a change per family. */
const texts = (c: PlannedChange, family: Family) => c.rules[family].map((r) => r.text);

/** The operations of a result, as kinds and texts (insert positions included). */
function ops(result: ChangeResult, family: Family): string[] {
  return result.operations[family].map((op) => (op.kind === "insert" ? `${op.kind} ${op.position} ${op.text}` : op.kind === "delete" ? `${op.kind} ${op.text}` : op.kind));
}

/**
 * Plans `changes` against a snapshot, as `read`/`refresh` of a resource does,
 * and says what the plan would repair: per operation (`describeDrift`) and as
 * users are told (`describePlan`, which names a moved rule once).
 */
function driftOf(snapshot: Snapshot, ...changes: PlannedChange[]): { operations: string[]; messages: string[] } {
  const plans = FAMILIES.map((family) => [family, planFamily(snapshot[family], changes.map((c) => ({ owner: c.owner, rules: c.rules[family] })))] as const);
  return {
    operations: plans.flatMap(([family, operations]) => operations.map((op) => describeDrift(family, op))),
    messages: plans.flatMap(([family, operations]) => describePlan(family, operations)),
  };
}

/** What users are told about drift. */
const drift = (snapshot: Snapshot, ...changes: PlannedChange[]) => driftOf(snapshot, ...changes).messages;

const WEB: RuleMatch = { action: "DROP", inInterface: "eth0", protocol: "tcp", originalDestinationPort: 8080, comment: "block 8080 from outside" };
/** Hand-written rules, as an admin would type them (argv after `-A DOCKER-USER`), and how iptables prints them. */
const FOREIGN_A = { argv: ["-s", "192.0.2.1", "-j", "ACCEPT"], line: `-A ${DOCKER_USER} -s 192.0.2.1/32 -j ACCEPT` };
const FOREIGN_B = {
  argv: ["-p", "udp", "--dport", "53", "-m", "comment", "--comment", "pdf:not a tag of ours", "-j", "DROP"],
  line: `-A ${DOCKER_USER} -p udp -m udp --dport 53 -m comment --comment "pdf:not a tag of ours" -j DROP`,
};
/** Quotes, a backslash, double spaces and UTF-8 in a comment: the fingerprint must hash exactly what iptables prints. */
const FOREIGN_C = {
  argv: ["-m", "comment", "--comment", `it's a "quoted" \\ back  café`, "-j", "LOG", "--log-prefix", "DOCKER-USER drop: "],
  line: `-A ${DOCKER_USER} -m comment --comment "it\\'s a \\"quoted\\" \\\\ back  café" -j LOG --log-prefix "DOCKER-USER drop: "`,
};

describe.each(BACKENDS)("HostSession on real iptables, %s backend", (backend) => {
  test("create puts the rule above Docker's RETURN; the same change again does nothing; delete restores Docker's rules byte for byte", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      const docker = await saveBoth(ns, backend);
      const session = new HostSession(host, backend);
      const web = change("web", WEB);
      const [v4, v6] = [texts(web, "ipv4")[0], texts(web, "ipv6")[0]];
      expect(v4).toBe(`-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -m comment --comment "pdf:${owner("web")}:500:0 block 8080 from outside" -j DROP`);

      const created = await session.apply(web);
      expect(ops(created, "ipv4")).toEqual([`insert 1 ${v4}`]);
      // Docker does not manage IPv6 here: the chain and our (tagged) jump come first.
      expect(ops(created, "ipv6")).toEqual(["create-chain", "insert-jump", `insert 1 ${v6}`]);
      expect(await chain(ns, "ipv4", backend)).toEqual([v4, DOCKER_RETURN]);
      expect(await chain(ns, "ipv6", backend)).toEqual([v6]);
      expect(await chain(ns, "ipv4", backend, "FORWARD")).toEqual(docker.ipv4.split("\n").filter((l) => l.startsWith("-A FORWARD ")));
      expect((await chain(ns, "ipv6", backend, "FORWARD"))[0]).toBe(OUR_JUMP);
      expect(host.log).toEqual([{ kind: "read", code: 0 }, { kind: "apply", code: 0 }]);

      const again = await session.apply(web);
      expect(again.operations).toEqual({ ipv4: [], ipv6: [] });
      expect(host.log.slice(2)).toEqual([{ kind: "read", code: 0 }]);
      expect(await chain(ns, "ipv4", backend)).toEqual([v4, DOCKER_RETURN]);
      expect(await chain(ns, "ipv6", backend)).toEqual([v6]);
      // What the session returns is what the host holds.
      // (iptables-save's timestamp comments aside: the second may have turned.)
      const tablesOf = (r: Ruleset) => r.tables.map((t) => ({ ...t, preamble: [] }));
      expect(tablesOf((await session.read()).ipv4)).toEqual(tablesOf(again.snapshot.ipv4));

      // Delete: our rules go, and in ip6tables the jump and the chain we added go with the last of them.
      const deleted = await session.apply(removal("web"));
      expect(ops(deleted, "ipv4")).toEqual([`delete ${v4}`]);
      expect(ops(deleted, "ipv6")).toEqual([`delete ${v6}`, "delete-jump", "delete-chain"]);
      expect(await saveBoth(ns, backend)).toEqual(docker);
    });
  });

  test("create, update and delete leave hand-written rules and Docker's RETURN as they were, byte for byte", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      // Hand-written rules in both families (ip6tables gets DOCKER-USER and the jump as Docker 23+ makes them).
      await ns.run([binary("ipv6", backend, "-restore"), "--noflush"], { stdin: `*filter\n:${DOCKER_USER} - [0:0]\n-I FORWARD 1 -j ${DOCKER_USER}\nCOMMIT\n` });
      for (const family of FAMILIES) {
        await iptables(ns, family, backend, "-I", DOCKER_USER, "1", ...FOREIGN_C.argv);
        await iptables(ns, family, backend, "-I", DOCKER_USER, "1", ...FOREIGN_B.argv);
        if (family === "ipv4") await iptables(ns, family, backend, "-I", DOCKER_USER, "1", ...FOREIGN_A.argv);
      }
      const foreign = { ipv4: [FOREIGN_A.line, FOREIGN_B.line, FOREIGN_C.line, DOCKER_RETURN], ipv6: [FOREIGN_B.line, FOREIGN_C.line] };
      expect(await chain(ns, "ipv4", backend)).toEqual(foreign.ipv4);
      expect(await chain(ns, "ipv6", backend)).toEqual(foreign.ipv6);
      const before = await saveBoth(ns, backend);
      const session = new HostSession(host, backend);

      // Our block goes on top of DOCKER-USER, above every hand-written rule.
      const v1 = change("web", WEB, { action: "ACCEPT", sourceRange: "192.0.2.10-192.0.2.20", protocol: "tcp", originalDestinationPort: 8080 });
      const created = await session.apply(v1);
      for (const family of FAMILIES) {
        expect(await chain(ns, family, backend)).toEqual([...texts(v1, family), ...foreign[family]]);
        expect(ops(created, family)).toEqual(texts(v1, family).map((t, i) => `insert ${i + 1} ${t}`));
      }

      // Update: the changed rule is replaced in place, the unchanged one stays.
      const v2 = change("web", { ...WEB, originalDestinationPort: 8443 }, { action: "ACCEPT", sourceRange: "192.0.2.10-192.0.2.20", protocol: "tcp", originalDestinationPort: 8080 });
      const updated = await session.apply(v2);
      for (const family of FAMILIES) {
        expect(await chain(ns, family, backend)).toEqual([...texts(v2, family), ...foreign[family]]);
        expect(ops(updated, family)).toEqual([`delete ${texts(v1, family)[0]}`, `insert 1 ${texts(v2, family)[0]}`]);
      }

      const deleted = await session.apply(removal("web"));
      for (const family of FAMILIES) expect(ops(deleted, family)).toEqual(texts(v2, family).map((t) => `delete ${t}`));
      expect(await saveBoth(ns, backend)).toEqual(before);
      expect(host.counts()).toEqual({ reads: 3, applies: 3 });
    });
  });

  test("on a host without Docker, create makes DOCKER-USER and the FORWARD jump as FORWARD's first rule", async () => {
    await withNamespace(backend, { fresh: true }, async (ns, host) => {
      // ipv4 has a FORWARD rule already, so "first" means something; ipv6 has nothing at all (no table, with nf_tables).
      await iptables(ns, "ipv4", backend, "-A", "FORWARD", "-i", "lo", "-j", "ACCEPT");
      const emptyV6 = await saveBody(ns, "ipv6", backend);
      const web = change("web", WEB);
      const created = await new HostSession(host, backend).apply(web);
      for (const family of FAMILIES) {
        expect(ops(created, family)).toEqual(["create-chain", "insert-jump", `insert 1 ${texts(web, family)[0]}`]);
        expect(await saveBody(ns, family, backend)).toMatch(/^:DOCKER-USER - \[0:0\]$/m);
        expect(await chain(ns, family, backend)).toEqual(texts(web, family));
      }
      expect(await chain(ns, "ipv4", backend, "FORWARD")).toEqual([OUR_JUMP, "-A FORWARD -i lo -j ACCEPT"]);
      expect(await chain(ns, "ipv6", backend, "FORWARD")).toEqual([OUR_JUMP]);
      if (backend === "nft") expect(emptyV6).toBe("");
    });
  });

  test("50 owners applied at once land in (priority, name) order, each once, in one read and one apply", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      const docker = await saveBoth(ns, backend);
      const session = new HostSession(host, backend);
      // Priorities repeat and do not follow the names, so both sort keys matter.
      const names = Array.from({ length: 50 }, (_, i) => `svc-${String((i * 7) % 50).padStart(2, "0")}`);
      const changes = names.map((name, i) => change(name, { action: "ACCEPT", protocol: "tcp", destinationPort: 8000 + i, priority: (i % 5) * 100 + 50, comment: `service ${i}` }));
      const results = await Promise.all(changes.map((c) => session.apply(c)));
      const sorted = (family: Family) => changes.flatMap((c) => c.rules[family]).sort((a, b) => compareTags(a.tag, b.tag)).map((r) => r.text);
      expect(await chain(ns, "ipv4", backend)).toEqual([...sorted("ipv4"), DOCKER_RETURN]);
      expect(await chain(ns, "ipv6", backend)).toEqual(sorted("ipv6"));
      expect(new Set(sorted("ipv4")).size).toBe(50);
      // Group commit: every request shares the one transaction.
      expect(host.counts()).toEqual({ reads: 1, applies: 1 });
      expect(new Set(results.map((r) => r.snapshot)).size).toBe(1);

      // And all removed at once: back to exactly what Docker wrote.
      await Promise.all(names.map((name) => session.apply(removal(name))));
      expect(await saveBoth(ns, backend)).toEqual(docker);
      expect(host.counts()).toEqual({ reads: 2, applies: 2 });
    });
  });

  test("a change iptables rejects fails alone; the others in its batch land", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      const session = new HostSession(host, backend);
      const good1 = change("good1", { action: "ACCEPT", inInterface: "eth1" });
      const good2 = change("good2", { action: "ACCEPT", inInterface: "eth2" });
      const bad: PlannedChange = { owner: owner("bad"), rules: { ipv4: [handRule("bad", "-m doesnotexist")], ipv6: [] } };
      const results = await Promise.allSettled([session.apply(good1), session.apply(bad), session.apply(good2)]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      const error = (results[1] as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(RestoreError);
      expect(error.message).toMatch(/rejected the transaction \(nothing was changed\)/);
      expect(error.message).toMatch(/doesnotexist/);
      for (const family of FAMILIES) {
        expect(await chain(ns, family, backend)).toEqual([...texts(good1, family), ...texts(good2, family), ...(family === "ipv4" ? [DOCKER_RETURN] : [])]);
      }
      // One combined try, then halves (read + apply each): [good1, bad] is rejected and halved again, [good2] lands.
      const rejected = APPLY_EXIT.rejected.ipv4;
      expect(host.log.map((c) => `${c.kind} ${c.code}`)).toEqual(["read 0", `apply ${rejected}`, "read 0", `apply ${rejected}`, "read 0", "apply 0", "read 0", `apply ${rejected}`, "read 0", "apply 0"]);
    });
  });

  test("the RestoreError of a rejected transaction names the line iptables rejected", async () => {
    await withNamespace(backend, {}, async (_ns, host) => {
      const bad: PlannedChange = { owner: owner("bad"), rules: { ipv4: [handRule("bad", "-m doesnotexist")], ipv6: [] } };
      const error = await new HostSession(host, backend).apply(bad).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RestoreError);
      // Both variants: "Error occurred at line: 2".
      expect((error as RestoreError).failedLine).toBe(bad.rules.ipv4[0].text.replace(`-A ${DOCKER_USER} `, `-I ${DOCKER_USER} 1 `));
    });
  });

  test("when the kernel refuses a rule the test accepted, the RestoreError names it where iptables says which", async () => {
    await withNamespace(backend, {}, async (_ns, host) => {
      const bomb = handRule("bomb", "").text.replace("-j DROP", "-j REJECT --reject-with tcp-reset");
      const request: PlannedChange = { owner: owner("bomb"), rules: { ipv4: [...change("bomb", { action: "ACCEPT", inInterface: "eth9" }).rules.ipv4, { ...handRule("bomb", ""), text: bomb }], ipv6: [] } };
      const error = await new HostSession(host, backend).apply(request).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RestoreError);
      // nf_tables: "line 3: RULE_INSERT failed (Invalid argument)" names the rule; legacy: "line 4 failed" names
      // COMMIT, where it hands the whole table to the kernel, so no line is named rather than a misleading one.
      if (backend === "nft") expect((error as RestoreError).failedLine).toContain("tcp-reset");
      else expect((error as RestoreError).failedLine).toBeUndefined();
    });
  });

  test("two sessions (two processes) on one host serialize on the host lock and both land", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      const other = new CountingHost(ns, backend);
      const batch = (prefix: string) => Array.from({ length: 10 }, (_, i) => change(`${prefix}-${i}`, { action: "ACCEPT", inInterface: `${prefix}${i}` }));
      const [a, b] = [batch("a"), batch("b")];
      const [sa, sb] = [new HostSession(host, backend), new HostSession(other, backend)];
      await Promise.all([...a.map((c) => sa.apply(c)), ...b.map((c) => sb.apply(c))]);
      const all = [...a, ...b].flatMap((c) => c.rules.ipv4).sort((x, y) => compareTags(x.tag, y.tag)).map((r) => r.text);
      expect(await chain(ns, "ipv4", backend)).toEqual([...all, DOCKER_RETURN]);
      // Each session read once and applied once, plus one retry (on the tables the conflict answer carries) when the other won the race.
      const [ca, cb] = [host.counts(), other.counts()];
      expect(ca.applies + cb.applies).toBeGreaterThanOrEqual(2);
      expect(ca.applies + cb.applies).toBeLessThanOrEqual(3);
      expect([...host.log, ...other.log].filter((c) => c.kind === "apply" && c.code !== 0).map((c) => c.code)).toEqual(
        ca.applies + cb.applies === 3 ? [APPLY_EXIT.conflict] : [],
      );
    });
  });

  test("when ipv4's restore fails after its test passed, nothing changes (one table, one atomic commit)", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      const before = await saveBoth(ns, backend);
      const bomb = handRule("v4bomb", "").text.replace("-j DROP", "-j REJECT --reject-with tcp-reset");
      const both = change("v4bomb", WEB);
      const request: PlannedChange = { owner: owner("v4bomb"), rules: { ipv4: [...both.rules.ipv4, { ...handRule("v4bomb", ""), text: bomb }], ipv6: both.rules.ipv6 } };
      const error = await new HostSession(host, backend).apply(request).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RestoreError);
      expect((error as RestoreError).code).toBe(APPLY_EXIT.failed.ipv4);
      expect(await saveBoth(ns, backend)).toEqual(before);
    });
  });

  test("a jump to a missing chain fails and changes nothing (legacy refuses it in --test, nf_tables only when applying)", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      const before = await saveBoth(ns, backend);
      const jump = handRule("jump", "").text.replace("-j DROP", "-j NO-SUCH-CHAIN");
      const request: PlannedChange = { owner: owner("jump"), rules: { ipv4: [...change("jump", WEB).rules.ipv4, { ...handRule("jump", ""), text: jump }], ipv6: [] } };
      const error = await new HostSession(host, backend).apply(request).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RestoreError);
      expect((error as RestoreError).code).toBe(backend === "legacy" ? APPLY_EXIT.rejected.ipv4 : APPLY_EXIT.failed.ipv4);
      expect(await saveBoth(ns, backend)).toEqual(before);
    });
  });

  test("a transaction whose ipv6 part iptables rejects changes neither family", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      const before = await saveBoth(ns, backend);
      const mixed: PlannedChange = { owner: owner("mixed"), rules: { ipv4: change("mixed", WEB).rules.ipv4, ipv6: [handRule("mixed", "-m doesnotexist")] } };
      const error = await new HostSession(host, backend).apply(mixed).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RestoreError);
      expect((error as RestoreError).code).toBe(APPLY_EXIT.rejected.ipv6);
      expect(await saveBoth(ns, backend)).toEqual(before);
    });
  });

  test("when ipv6's restore fails after its test passed, ipv4 is rolled back", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      // REJECT --reject-with tcp-reset without -p tcp: userspace (and so --test) accepts it, the kernel refuses it.
      const bomb = handRule("mixed", "").text.replace("-j DROP", "-j REJECT --reject-with tcp-reset");
      const probe = await ns.exec([binary("ipv6", backend, "-restore"), "--noflush", "--test"], { stdin: `*filter\n:X - [0:0]\n${bomb.replace(DOCKER_USER, "X")}\nCOMMIT\n` });
      expect(probe.code).toBe(0);

      const before = { plain: await saveBoth(ns, backend), counters: await ns.run([binary("ipv4", backend, "-save"), "-c", "-t", "filter"]) };
      const mixed: PlannedChange = { owner: owner("mixed"), rules: { ipv4: change("mixed", WEB).rules.ipv4, ipv6: [{ ...handRule("mixed", ""), text: bomb }] } };
      const error = await new HostSession(host, backend).apply(mixed).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RestoreError);
      expect((error as RestoreError).code).toBe(APPLY_EXIT.failed.ipv6);
      expect((error as RestoreError).message).toMatch(/ipv4.s part was rolled back, nothing was changed/);
      expect(await saveBoth(ns, backend)).toEqual(before.plain);
      const strip = (t: string) => t.split("\n").filter((l) => !l.startsWith("#")).join("\n");
      expect(strip(await ns.run([binary("ipv4", backend, "-save"), "-c", "-t", "filter"]))).toBe(strip(before.counters));
    });
  });

  test.each(FAMILIES)("a rule another process inserts into %s DOCKER-USER between read and apply makes the session re-plan on the tables the conflict answer carries; it stays", async (family) => {
    await withNamespace(backend, {}, async (ns, host) => {
      const foreign = family === "ipv4" ? { argv: ["-s", "192.0.2.99", "-j", "ACCEPT"], line: `-A ${DOCKER_USER} -s 192.0.2.99/32 -j ACCEPT` } : { argv: ["-s", "2001:db8::99", "-j", "ACCEPT"], line: `-A ${DOCKER_USER} -s 2001:db8::99/128 -j ACCEPT` };
      if (family === "ipv6") await ns.run([binary("ipv6", backend, "-restore"), "--noflush"], { stdin: `*filter\n:${DOCKER_USER} - [0:0]\nCOMMIT\n` });
      let edits = 0;
      host.beforeApply = async () => {
        if (edits++ === 0) await iptables(ns, family, backend, "-I", DOCKER_USER, "1", ...foreign.argv);
      };
      const web = change("web", WEB);
      const result = await new HostSession(host, backend).apply(web);
      expect(host.log).toEqual([
        { kind: "read", code: 0 },
        { kind: "apply", code: APPLY_EXIT.conflict },
        { kind: "apply", code: 0 },
      ]);
      // The second plan saw the foreign rule: ours goes above it.
      expect(ops(result, family)).toContain(`insert 1 ${texts(web, family)[0]}`);
      expect(await chain(ns, "ipv4", backend)).toEqual([texts(web, "ipv4")[0], ...(family === "ipv4" ? [foreign.line] : []), DOCKER_RETURN]);
      expect(await chain(ns, "ipv6", backend)).toEqual([texts(web, "ipv6")[0], ...(family === "ipv6" ? [foreign.line] : [])]);
    });
  });

  test("hand edits show up as drift when the same rules are planned against a fresh read, and applying repairs them", async () => {
    await withNamespace(backend, {}, async (ns, host) => {
      const session = new HostSession(host, backend);
      const web = change("web", WEB);
      const [v4, v6] = [texts(web, "ipv4")[0], texts(web, "ipv6")[0]];
      await session.apply(web);
      await iptables(ns, "ipv4", backend, "-A", DOCKER_USER, ...FOREIGN_B.argv);
      const healthy = { ipv4: [v4, DOCKER_RETURN, FOREIGN_B.line], ipv6: [v6] };
      expect(drift(await session.read(), web)).toEqual([]);

      /** Applies the declared rules again and checks the chains are healthy and the plan is empty. */
      const repair = async () => {
        await session.apply(web);
        for (const family of FAMILIES) expect(await chain(ns, family, backend)).toEqual(healthy[family]);
        expect(drift(await session.read(), web)).toEqual([]);
      };

      // Our rule deleted by hand.
      await iptables(ns, "ipv4", backend, "-D", DOCKER_USER, "1");
      expect(drift(await session.read(), web)).toEqual([`ipv4: missing: ${v4}`]);
      await repair();

      // Our rule altered in place, keeping its comment (so it is still ours, but different).
      const altered = [...ruleArgs(v4).slice(0, -1), "ACCEPT"];
      await iptables(ns, "ipv4", backend, "-R", DOCKER_USER, "1", ...altered);
      const alteredLine = v4.replace(/-j DROP$/, "-j ACCEPT");
      expect(await chain(ns, "ipv4", backend)).toEqual([alteredLine, DOCKER_RETURN, FOREIGN_B.line]);
      expect(drift(await session.read(), web)).toEqual([`ipv4: altered (action is ACCEPT, declared DROP): ${alteredLine}`]);
      await repair();

      // A foreign rule inserted above ours: ours moves back on top, the foreign rule is kept as typed.
      await iptables(ns, "ipv4", backend, "-I", DOCKER_USER, "1", ...FOREIGN_A.argv);
      const moved = driftOf(await session.read(), web);
      expect(moved.operations).toEqual([`ipv4: out of place, below the foreign rule ${FOREIGN_A.line}: ${v4}`, `ipv4: missing: ${v4}`]);
      expect(moved.messages).toEqual([`ipv4: out of place, below the foreign rule ${FOREIGN_A.line}: ${v4}`]);
      healthy.ipv4 = [v4, FOREIGN_A.line, DOCKER_RETURN, FOREIGN_B.line];
      await repair();

      // A copy of our rule appended by hand.
      await iptables(ns, "ipv6", backend, "-A", DOCKER_USER, ...ruleArgs(v6));
      expect(drift(await session.read(), web)).toEqual([`ipv6: duplicate: ${v6}`]);
      await repair();

      // Our FORWARD jump removed (ipv6): the rules have no effect. It comes back.
      expect((await chain(ns, "ipv6", backend, "FORWARD"))[0]).toBe(OUR_JUMP);
      await iptables(ns, "ipv6", backend, "-D", "FORWARD", ...ruleArgs(OUR_JUMP));
      expect(drift(await session.read(), web)).toEqual(["ipv6: FORWARD does not jump to DOCKER-USER, so its rules have no effect"]);
      await repair();
      expect((await chain(ns, "ipv6", backend, "FORWARD"))[0]).toBe(OUR_JUMP);

      // The chain deleted outright (ip6tables, where nothing else refers to it once the jump is gone).
      await iptables(ns, "ipv6", backend, "-D", "FORWARD", ...ruleArgs(OUR_JUMP));
      await iptables(ns, "ipv6", backend, "-F", DOCKER_USER);
      await iptables(ns, "ipv6", backend, "-X", DOCKER_USER);
      expect(drift(await session.read(), web)).toEqual([
        "ipv6: the DOCKER-USER chain does not exist",
        "ipv6: FORWARD does not jump to DOCKER-USER, so its rules have no effect",
        `ipv6: missing: ${v6}`,
      ]);
      await repair();
    });
  });
});
