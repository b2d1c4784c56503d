import * as fs from "node:fs";
import * as path from "node:path";
import { DOCKER_USER } from "../../provider/docker/layout";
import type { Family } from "../../provider/family";
import { FAMILIES } from "../../provider/family";
import { backendSuffix, type Backend } from "../../provider/iptables/backend";
import { FLAG_TABLE, type MatchField } from "../../provider/iptables/flag-table";
import { parseRule, renderRule, type Rule } from "../../provider/iptables/rule";
import { chainRules, findTable, parseSave, renderSave, ruleLine } from "../../provider/iptables/ruleset";
import { tokenize } from "../../provider/iptables/tokens";
import { formatTag } from "../../provider/ownership";
import {
  buildRule,
  DEFAULT_PRIORITY,
  dockerUserRuleSchema,
  familiesOf,
  ownedRules,
  ruleMatchShape,
  type RuleMatch,
} from "../../provider/resources/docker-user-rule";
import { CT_STATES } from "../../provider/schema/fields";
import { Netns } from "../support/netns";
import { COMMENT_CASES, EVERY_FIELD_CASES, PROTOCOL_CASES } from "../support/rule-cases";

/*
 * What we render is what iptables prints: every rule field, alone, negated and
 * combined, is built from user arguments, loaded into a real DOCKER-USER
 * (nf_tables and legacy, IPv4 and IPv6) with one iptables-restore per batch,
 * saved again and compared byte for byte; the saved line parses back into the
 * same structured rule. Real Docker captures survive parse → render unchanged.
 */

const BACKENDS: readonly Exclude<Backend, "auto">[] = ["nft", "legacy"];
const OWNER = "roundtrip/real/rule/case";

/** One row of the table: user arguments, named. */
interface Case {
  readonly name: string;
  readonly args: RuleMatch;
}

const A = "ACCEPT" as const;

/** Every field alone (every value kind), negated where negatable, and combined. */
const CASES: readonly Case[] = [
  // action, each value (REJECT gets the family's --reject-with)
  { name: "action ACCEPT", args: { action: "ACCEPT" } },
  { name: "action DROP", args: { action: "DROP" } },
  { name: "action REJECT", args: { action: "REJECT" } },
  { name: "action RETURN", args: { action: "RETURN" } },
  // family restricts the families; priority goes into the tag
  { name: "family ipv4", args: { action: "DROP", family: "ipv4" } },
  { name: "family ipv6", args: { action: "DROP", family: "ipv6" } },
  { name: "family both", args: { action: "DROP", family: "both" } },
  { name: "priority 0", args: { action: A, priority: 0 } },
  { name: "priority 999", args: { action: A, priority: 999 } },
  // source / destination: header form, always with a prefix
  { name: "source v4 host", args: { action: A, source: "192.0.2.7" } },
  { name: "source v4 network", args: { action: A, source: "10.0.0.0/8" } },
  { name: "source v4 negated", args: { action: A, source: "!198.51.100.0/24" } },
  { name: "source v4 negated, space after !", args: { action: A, source: "! 198.51.100.1/32" } },
  { name: "source v6 non-canonical", args: { action: A, source: "2001:0DB8:0:0::1" } },
  { name: "source v6 network, upper case", args: { action: A, source: "2001:db8:AB::/48" } },
  { name: "source v6 negated", args: { action: A, source: "!2001:db8::/32" } },
  { name: "source v6 two equal zero runs", args: { action: A, source: "2001:db8:0:0:1:0:0:1" } },
  { name: "source v6 one zero group", args: { action: A, source: "2001:db8:0:1:1:1:1:1" } },
  { name: "destination v4 host", args: { action: A, destination: "203.0.113.9" } },
  { name: "destination v4 network", args: { action: A, destination: "172.16.0.0/12" } },
  { name: "destination v4 negated", args: { action: A, destination: "!192.0.2.0/25" } },
  { name: "destination v6 long form", args: { action: A, destination: "2001:DB8:0000:0000:0000:0000:0000:00FF" } },
  { name: "destination v6 negated network", args: { action: A, destination: "!fd00::1:0/112" } },
  // iprange
  { name: "sourceRange v4", args: { action: A, sourceRange: "192.0.2.10-192.0.2.20" } },
  { name: "sourceRange v4 negated", args: { action: A, sourceRange: "!10.0.0.1-10.0.0.255" } },
  { name: "sourceRange v4 single address", args: { action: A, sourceRange: "192.0.2.5-192.0.2.5" } },
  { name: "sourceRange v6 non-canonical", args: { action: A, sourceRange: "2001:DB8::0001-2001:db8::00ff" } },
  { name: "sourceRange v6 negated", args: { action: A, sourceRange: "! fd00::1-fd00::2" } },
  { name: "destinationRange v4", args: { action: A, destinationRange: "198.51.100.1-198.51.100.9" } },
  { name: "destinationRange v4 negated", args: { action: A, destinationRange: "!198.51.100.1-198.51.100.9" } },
  { name: "destinationRange v6", args: { action: A, destinationRange: "2001:db8::a-2001:db8::1:0" } },
  { name: "destinationRange v6 negated", args: { action: A, destinationRange: "!2001:db8::a-2001:db8::1:0" } },
  // interfaces
  { name: "inInterface", args: { action: A, inInterface: "eth0" } },
  { name: "inInterface negated", args: { action: A, inInterface: "!eth0" } },
  { name: "inInterface wildcard", args: { action: A, inInterface: "eth+" } },
  { name: "inInterface negated wildcard, space after !", args: { action: A, inInterface: "! br-+" } },
  { name: "inInterface VLAN name", args: { action: A, inInterface: "eth0.100" } },
  { name: "inInterface 15 characters", args: { action: A, inInterface: "abcdefghij_k-lm" } },
  { name: "outInterface", args: { action: A, outInterface: "docker0" } },
  { name: "outInterface negated", args: { action: A, outInterface: "!docker0" } },
  { name: "outInterface wildcard", args: { action: A, outInterface: "br-+" } },
  // protocol
  ...PROTOCOL_CASES,
  // destinationPort: single, range, list (multiport)
  { name: "port number", args: { action: A, protocol: "tcp", destinationPort: 80 } },
  { name: "port as string, udp", args: { action: A, protocol: "udp", destinationPort: "8080" } },
  { name: "port range", args: { action: A, protocol: "tcp", destinationPort: "8000:8010" } },
  { name: "port range of one", args: { action: A, protocol: "tcp", destinationPort: "443:443" } },
  { name: "port 1", args: { action: A, protocol: "tcp", destinationPort: 1 } },
  { name: "port 65535", args: { action: A, protocol: "udp", destinationPort: 65535 } },
  { name: "port range 1:65535", args: { action: A, protocol: "tcp", destinationPort: "1:65535" } },
  { name: "port list", args: { action: A, protocol: "tcp", destinationPort: [80, 443] } },
  { name: "port list with ranges, udp", args: { action: A, protocol: "udp", destinationPort: ["8000:8010", 443, "9000"] } },
  { name: "port list of one", args: { action: A, protocol: "tcp", destinationPort: [22] } },
  { name: "port list of 15 slots, ranges counting two", args: { action: A, protocol: "udp", destinationPort: ["1:2", "3:4", "5:6", "7:8", "9:10", "11:12", "13:14", 15] } },
  { name: "port list of 15", args: { action: A, protocol: "tcp", destinationPort: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 65535] } },
  // conntrack: original addresses (no prefix for a host) and port; ctdir ORIGINAL comes with them
  { name: "originalSource v4 host", args: { action: A, originalSource: "192.0.2.7" } },
  { name: "originalSource v4 network", args: { action: A, originalSource: "10.0.0.0/8" } },
  { name: "originalSource v4 negated", args: { action: A, originalSource: "!198.51.100.0/24" } },
  { name: "originalSource v6 non-canonical", args: { action: A, originalSource: "2001:0db8::0:1" } },
  { name: "originalSource v6 negated network", args: { action: A, originalSource: "!2001:DB8::/32" } },
  { name: "originalDestination v4 host /32", args: { action: A, originalDestination: "203.0.113.5/32" } },
  { name: "originalDestination v4 negated", args: { action: A, originalDestination: "!203.0.113.0/24" } },
  { name: "originalDestination v6 host /128", args: { action: A, originalDestination: "2001:db8::5/128" } },
  { name: "originalDestination v6 negated", args: { action: A, originalDestination: "!2001:db8:1::/48" } },
  { name: "originalDestinationPort", args: { action: A, originalDestinationPort: 8080 } },
  { name: "originalDestinationPort range", args: { action: A, originalDestinationPort: "8000:8010" } },
  { name: "originalDestinationPort range of one", args: { action: A, originalDestinationPort: "8080:8080" } },
  // ctstate, printed in iptables' order whatever the input order
  { name: "ctstate one", args: { action: A, ctstate: ["NEW"] } },
  { name: "ctstate out of order", args: { action: A, ctstate: ["ESTABLISHED", "NEW"] } },
  { name: "ctstate all, reversed", args: { action: A, ctstate: [...CT_STATES].reverse() } },
  // comments: quoted by iptables-save, spaces kept
  ...COMMENT_CASES,
  { name: "comment of 128 characters", args: { action: A, comment: "c".repeat(64) + " ".repeat(1) + "d".repeat(63) } },
  // combinations
  ...EVERY_FIELD_CASES,
  {
    name: "published-port allowlist (conntrack port + source range + ctstate)",
    args: { action: "ACCEPT", sourceRange: "192.0.2.10-192.0.2.20", originalDestinationPort: 8080, ctstate: ["NEW"], protocol: "tcp", comment: "web from office" },
  },
  {
    name: "block a published port on the external interface except a range",
    args: { action: "DROP", inInterface: "ext_if", sourceRange: "!192.168.1.1-192.168.1.3", protocol: "tcp", originalDestinationPort: "8080" },
  },
  { name: "established traffic returns", args: { action: "RETURN", ctstate: ["RELATED", "ESTABLISHED"] } },
  { name: "conntrack addresses without ctstate", args: { action: "DROP", originalSource: "!192.0.2.0/24", originalDestination: "203.0.113.0/24" } },
  { name: "REJECT a udp port list on both families", args: { action: "REJECT", protocol: "udp", destinationPort: [53, "5353:5354"], inInterface: "ext+", comment: "no dns" } },
  { name: "header addresses and interfaces together", args: { action: "DROP", source: "!198.51.100.0/24", destination: "172.17.0.0/16", inInterface: "eth0", outInterface: "!docker0" } },
  { name: "ranges both ways", args: { action: "ACCEPT", sourceRange: "2001:db8::1-2001:db8::2", destinationRange: "!2001:db8::9-2001:db8::a" } },
];

/**
 * Inputs iptables prints in a form of its own: glibc's `inet_ntop` writes an
 * address whose first 96 bits are zero as `::a.b.c.d`, and iptables prints
 * no `-s`/`-d` for a /0. The renderer must produce exactly that.
 */
const PRINTED_SPECIALLY: readonly Case[] = [
  { name: "source ::2:3 (IPv4-compatible form)", args: { action: A, source: "::2:3" } },
  { name: "originalSource ::a00:1 (IPv4-compatible form)", args: { action: A, originalSource: "::a00:1" } },
  { name: "source 0.0.0.0/0", args: { action: A, source: "0.0.0.0/0" } },
  { name: "destination ::/0", args: { action: A, destination: "::/0" } },
];

/**
 * Flag-table rows that user input cannot reach: the table allows negating
 * ports (for reading rules written by hand), the schema does not. These start
 * from a built rule and negate one match, so parse and render are still
 * checked against what iptables prints.
 */
const NEGATED_BEYOND_INPUT: readonly { readonly name: string; readonly args: RuleMatch; readonly negate: MatchField }[] = [
  { name: "negated --dport (hand-written rule)", args: { action: "DROP", protocol: "tcp", destinationPort: 22 }, negate: "destinationPort" },
  { name: "negated --dport range, udp (hand-written rule)", args: { action: "DROP", protocol: "udp", destinationPort: "1000:2000" }, negate: "destinationPort" },
  { name: "negated --dports (hand-written rule)", args: { action: "DROP", protocol: "tcp", destinationPort: [80, "443:444"] }, negate: "destinationPorts" },
  { name: "negated --ctorigdstport (hand-written rule)", args: { action: "DROP", originalDestinationPort: "8000:8010" }, negate: "originalDestinationPort" },
  { name: "negated --ctstate (PublishedPort's direct-access guard)", args: { action: "DROP", ctstate: ["DNAT"] }, negate: "ctstate" },
];

/** One rule to load: its name, family, tag, and the rule we expect iptables to print. */
interface Expected {
  readonly name: string;
  readonly family: Family;
  /** The ownership tag (without note): unique per row, so the saved line can be found by it. */
  readonly tag: string;
  readonly rule: Rule;
  readonly line: string;
}

/** Builds a case's rule for one family, tagged as `ownedRules` tags it (the tag's index is the case's index). */
function expectedFor(c: Case, index: number, family: Family, change: (rule: Rule) => Rule = (r) => r): Expected {
  const tagOf = (note?: string) => formatTag({ owner: OWNER, priority: c.args.priority ?? DEFAULT_PRIORITY, index, note });
  const rule = change(buildRule(c.args, family, tagOf(c.args.comment)));
  return { name: c.name, family, tag: tagOf(), rule, line: renderRule(rule) };
}

/** The same rule with one match negated. */
function negate(field: MatchField): (rule: Rule) => Rule {
  return (rule) => ({ ...rule, matches: { ...rule.matches, [field]: { value: rule.matches[field]!.value, negated: true } } });
}

/** The families a case applies to; fails loudly on a contradiction. */
function familiesFor(c: Case): Family[] {
  const families = familiesOf(c.args);
  if (typeof families === "string") throw new Error(`case "${c.name}": ${families}`);
  return families;
}

const EXPECTED: Record<Family, Expected[]> = { ipv4: [], ipv6: [] };
CASES.forEach((c, i) => {
  for (const family of familiesFor(c)) EXPECTED[family].push(expectedFor(c, i, family));
});
NEGATED_BEYOND_INPUT.forEach((c, i) => {
  for (const family of familiesFor(c)) EXPECTED[family].push(expectedFor(c, 1000 + i, family, negate(c.negate)));
});

/** The iptables binary of a family and backend, e.g. `ip6tables-legacy-restore`. */
function binary(family: Family, backend: Backend, tool: "" | "-save" | "-restore"): string {
  return `${family === "ipv4" ? "iptables" : "ip6tables"}${backendSuffix(backend)}${tool}`;
}

/** Restore input that (re)creates an empty DOCKER-USER holding `lines`. */
function restoreText(lines: readonly string[]): string {
  return ["*filter", `:${DOCKER_USER} - [0:0]`, ...lines, "COMMIT", ""].join("\n");
}

/** The `-A DOCKER-USER` lines of a save output, as printed. */
function dockerUserLines(save: string): string[] {
  return save.split("\n").filter((l) => l.startsWith(`-A ${DOCKER_USER} `));
}

/** What one family's batch left: the saved lines, or why lines could not be loaded. */
interface BatchResult {
  readonly saved: readonly string[];
  readonly saveText: string;
  /** Per expected index: the error iptables gave for that line alone, when the batch was rejected. */
  readonly rejected: ReadonlyMap<number, string>;
}

/**
 * Loads the lines with one iptables-restore and saves the chain. When the
 * batch is rejected, loads each line alone to say which ones iptables refuses
 * (and keeps the accepted ones, so the other cases still get compared).
 */
async function loadBatch(ns: Netns, family: Family, backend: Backend, lines: readonly string[]): Promise<BatchResult> {
  const restore = binary(family, backend, "-restore");
  const batch = await ns.exec([restore, "-w", "--noflush"], { stdin: restoreText(lines) });
  const rejected = new Map<number, string>();
  if (batch.code !== 0) {
    for (const [i, line] of lines.entries()) {
      const alone = await ns.exec([restore, "-w", "--noflush", "--test"], { stdin: restoreText([line]) });
      if (alone.code !== 0) rejected.set(i, alone.stderr.trim());
    }
    const accepted = lines.filter((_, i) => !rejected.has(i));
    await ns.run([restore, "-w", "--noflush"], { stdin: restoreText(accepted) });
  }
  const saveText = await ns.run([binary(family, backend, "-save"), "-t", "filter"]);
  return { saved: dockerUserLines(saveText), saveText, rejected };
}

describe("the case table", () => {
  test("sets every field of ruleMatchShape in some case", () => {
    const set = new Set(CASES.flatMap((c) => Object.keys(c.args)));
    const missing = Object.keys(ruleMatchShape).filter((k) => !set.has(k));
    expect(missing).toEqual([]);
  });

  test("uses every action, protocol, family and conntrack state", () => {
    const used = (key: keyof RuleMatch) => new Set(CASES.map((c) => c.args[key]).flat());
    expect([...ruleMatchShape.action.options].filter((v) => !used("action").has(v))).toEqual([]);
    expect([...ruleMatchShape.protocol.unwrap().options].filter((v) => !used("protocol").has(v))).toEqual([]);
    expect([...ruleMatchShape.family.unwrap().options].filter((v) => !used("family").has(v))).toEqual([]);
    expect(CT_STATES.filter((v) => !used("ctstate").has(v))).toEqual([]);
  });

  test("every case and the specially printed inputs are valid input; negated ports and a negated /0 are not", () => {
    for (const c of [...CASES, ...PRINTED_SPECIALLY]) expect({ name: c.name, issues: dockerUserRuleSchema.safeParse({ ...c.args, __owner: OWNER }).error?.issues ?? [] }).toEqual({ name: c.name, issues: [] });
    expect(dockerUserRuleSchema.safeParse({ action: "DROP", source: "!10.0.0.0/0", __owner: OWNER }).success).toBe(false);
    for (const args of [{ protocol: "tcp", destinationPort: "!22" }, { originalDestinationPort: "!8080" }]) {
      expect(dockerUserRuleSchema.safeParse({ action: "DROP", ...args, __owner: OWNER }).success).toBe(false);
    }
  });

  test.each(FAMILIES)("reaches every flag-table field, and negates every negatable one, in %s", (family) => {
    const rules = EXPECTED[family].map((e) => e.rule);
    const present = new Set(rules.flatMap((r) => Object.keys(r.matches)));
    const negated = new Set(rules.flatMap((r) => Object.entries(r.matches).filter(([, m]) => m?.negated).map(([f]) => f)));
    expect(FLAG_TABLE.filter((s) => !present.has(s.field)).map((s) => s.field)).toEqual([]);
    expect(FLAG_TABLE.filter((s) => s.negatable && !negated.has(s.field)).map((s) => s.field)).toEqual([]);
  });

  test.each(CASES.map((c, i) => [c.name, i] as const))("%s: is valid input, and ownedRules renders what buildRule does", (_name, i) => {
    const c = CASES[i];
    const parsed = dockerUserRuleSchema.safeParse({ ...c.args, __owner: OWNER });
    expect(parsed.error?.issues ?? []).toEqual([]);
    // ownedRules tags by index within the list; the same index gives the same line.
    const owned = ownedRules(OWNER, CASES.slice(0, i + 1).map((x) => x.args));
    for (const family of familiesFor(c)) {
      expect(owned[family].at(-1)?.text).toBe(expectedFor(c, i, family).line);
    }
  });
});

describe.each(BACKENDS)("%s backend", (backend) => {
  let ns: Netns | undefined;
  const batches = new Map<Family, BatchResult>();

  beforeAll(async () => {
    ns = await Netns.create(`rt${backend.slice(0, 3)}`);
    for (const family of FAMILIES) {
      batches.set(family, await loadBatch(ns, family, backend, EXPECTED[family].map((e) => e.line)));
    }
  });

  afterAll(async () => {
    await ns?.delete();
  });

  function result(family: Family): BatchResult {
    const b = batches.get(family);
    if (!b) throw new Error(`the ${family} batch was not loaded`);
    return b;
  }

  describe.each(FAMILIES)("%s", (family) => {
    test("iptables accepted the whole batch in one restore and saved one line per rule", () => {
      const b = result(family);
      expect(Object.fromEntries(b.rejected)).toEqual({});
      expect(b.saved).toHaveLength(EXPECTED[family].length);
    });

    const rows = EXPECTED[family].map((e, i) => [e.name, i] as const);
    test.each(rows)("%s: saved line is byte-identical to renderRule and parses back to the rule", (_name, i) => {
      const b = result(family);
      const expected = EXPECTED[family][i];
      expect(b.rejected.get(i)).toBeUndefined();
      // Lines that iptables refused are missing from the save; find ours by its unique tag.
      const saved = b.saved.find((l) => l.includes(`"${expected.tag}"`) || l.includes(`"${expected.tag} `));
      expect(saved).toBe(expected.line);
      expect(b.saved.indexOf(expected.line)).toBe(i - [...b.rejected.keys()].filter((k) => k < i).length);
      expect(parseRule(tokenize(saved!))).toEqual(expected.rule);
      // And the save parser sees the same text.
      const fromSave = chainRules(findTable(parseSave(b.saveText), "filter"), DOCKER_USER).map(ruleLine);
      expect(fromSave).toContain(expected.line);
    });
  });

  const specialRows = PRINTED_SPECIALLY.flatMap((c) => familiesFor(c).map((family) => [c.name, family] as const));
  for (const [name, family] of specialRows) {
    test(`${family}: ${name} round-trips`, async () => {
      const c = PRINTED_SPECIALLY.find((k) => k.name === name)!;
      const expected = expectedFor(c, 9000, family);
      const restore = binary(family, backend, "-restore");
      const loaded = await ns!.exec([restore, "-w", "--noflush"], { stdin: restoreText([expected.line]) });
      expect(loaded.stderr).toBe("");
      const saved = dockerUserLines(await ns!.run([binary(family, backend, "-save"), "-t", "filter"]));
      expect(saved).toEqual([expected.line]);
    });
  }

  test("a tag of exactly 255 characters (iptables' limit, longer ones it silently cuts) round-trips; 256 is refused", async () => {
    // pdf:<owner>:500:0 <note>: 4 + owner + 6 + 1 + note = 255 with a 128-character note.
    const longOwner = `${"p".repeat(50)}/${"s".repeat(50)}/rule/${"n".repeat(9)}`;
    const note = "x".repeat(127);
    const ok = ownedRules(longOwner, [{ action: "ACCEPT", comment: `${note}y`, family: "ipv4" }]).ipv4[0];
    expect(ok.tag.note?.length).toBe(128);
    expect(() => ownedRules(`${longOwner}n`, [{ action: "ACCEPT", comment: `${note}y` }])).toThrow(/iptables allows 255/);
    await ns!.run([binary("ipv4", backend, "-restore"), "--noflush"], { stdin: restoreText([ok.text]) });
    const saved = dockerUserLines(await ns!.run([binary("ipv4", backend, "-save"), "-t", "filter"]));
    expect(saved).toEqual([ok.text]);
    expect(/--comment "([^"]*)"/.exec(saved[0])?.[1]).toHaveLength(255);
  });

  test("the seed's claim: a rule typed with `! --src-range` first prints in iptables' canonical order", async () => {
    const argv = ["-I", DOCKER_USER, "-m", "iprange", "-i", "ext_if", "!", "--src-range", "192.168.1.1-192.168.1.3", "-j", "DROP"];
    await ns!.run([binary("ipv4", backend, "-restore"), "--noflush"], { stdin: restoreText([]) });
    await ns!.run([binary("ipv4", backend, ""), "-w", ...argv]);
    const saved = dockerUserLines(await ns!.run([binary("ipv4", backend, "-save"), "-t", "filter"]));
    const line = "-A DOCKER-USER -i ext_if -m iprange ! --src-range 192.168.1.1-192.168.1.3 -j DROP";
    expect(saved).toEqual([line]);
    const rule = parseRule(tokenize(line));
    expect(rule).toEqual({
      chain: DOCKER_USER,
      matches: { inInterface: { value: "ext_if", negated: false }, sourceRange: { value: "192.168.1.1-192.168.1.3", negated: true } },
      target: "DROP",
      targetOptions: [],
    });
    expect(renderRule(rule!)).toBe(line);
  });

  describe("Docker 20.10 captures, restored and saved again", () => {
    const dir = path.join(__dirname, "../fixtures");
    const files = ["docker-20.10", "seeds"].flatMap((sub) =>
      fs.readdirSync(path.join(dir, sub)).filter((f) => f.endsWith(".txt")).map((f) => `${sub}/${f}`),
    );

    test.each(files)("%s: renderSave(parseSave(t)) === t, with and without counters", async (file) => {
      const family: Family = file.endsWith(".v6.txt") ? "ipv6" : "ipv4";
      const fixture = fs.readFileSync(path.join(dir, file), "utf8");
      await ns!.run([binary(family, backend, "-restore"), "-w"], { stdin: fixture });
      for (const save of [[], ["-c"]]) {
        const text = await ns!.run([binary(family, backend, "-save"), ...save]);
        expect(text).toMatch(/^# Generated by ip6?tables(-nft|-legacy)?-save v1\.8\.9( \(nf_tables\))? on .*\n\*/);
        expect(renderSave(parseSave(text))).toBe(text);
      }
      // The namespace really holds Docker's layout: every table of the capture, line for line.
      const saved = parseSave(await ns!.run([binary(family, backend, "-save")]));
      const captured = parseSave(fixture);
      for (const table of captured.tables) {
        const { preamble: _a, ...want } = table;
        const { preamble: _b, ...got } = findTable(saved, table.name) ?? { preamble: [] };
        expect(got).toEqual(want);
      }
    });
  });
});
