import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DOCKER_USER } from "../../provider/docker/layout";
import { RestoreError, TransactionError } from "../../provider/errors";
import { FAMILIES, type Family } from "../../provider/family";
import { applyCommand } from "../../provider/host-scripts";
import { HostSession, type PlannedChange } from "../../provider/host-session";
import type { ExecOptions, ExecResult, Host } from "../../provider/host/host";
import { backendSuffix, type Backend } from "../../provider/iptables/backend";
import { ownedRules } from "../../provider/resources/docker-user-rule";
import { Netns } from "../support/netns";

/*
 * Faults in every step of the apply command, on real iptables (nf_tables
 * and legacy) in namespaces preloaded with Docker 20.10's rules: a stub
 * placed first on the apply command's PATH makes one step fail (each
 * --test, each restore, the rollback, the read-back) or kills the script,
 * and may play a second writer in the window. Each family ends either
 * exactly as before or fully applied, a foreign rule added meanwhile
 * survives, the error says which family holds what, the script leaves no
 * file behind, and the next apply converges.
 */

const BACKENDS: readonly Exclude<Backend, "auto">[] = ["nft", "legacy"];
const FIXTURES = path.join(__dirname, "../fixtures/docker-20.10");
/** Docker 20.10 with IPv6: ip6tables has no DOCKER-USER, so ipv6's part creates the chain and our jump. */
const DOCKER: Record<Family, string> = {
  ipv4: fs.readFileSync(path.join(FIXTURES, "ipv6-02-published-8080.v4.txt"), "utf8"),
  // IPv6 that Docker does not manage (its default before 27), with one rule of the admin's: our DOCKER-USER and jump go in its filter table.
  ipv6: "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
};
const OWNER = "af/real/rule/web";
const WEB: PlannedChange = { owner: OWNER, rules: ownedRules(OWNER, [{ action: "DROP", inInterface: "eth0", protocol: "tcp", originalDestinationPort: 8080 }]) };
/** What a second writer (Docker, an admin) adds to ipv4 while our transaction runs. */
const FOREIGN = ["-A DOCKER -d 172.17.0.9/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 81 -j ACCEPT", `-A ${DOCKER_USER} -s 192.0.2.99/32 -j ACCEPT`];

const tool = (family: Family, backend: Backend, suffix: "" | "-save" | "-restore") => `ip${family === "ipv4" ? "" : "6"}tables${backendSuffix(backend)}${suffix}`;

/**
 * A namespace whose apply commands run with a stub directory first on PATH
 * (and an empty TMPDIR, to see that nothing is left there); reads see the
 * real tools. `stubbed = false` turns the stubs off.
 */
class StubbedHost implements Host {
  stubbed = true;

  constructor(
    readonly ns: Netns,
    readonly stubs: string,
    readonly tmp: string,
  ) {}

  get name(): string {
    return this.ns.name;
  }

  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    const apply = argv[2] === applyCommand("auto", { ipv4: "", ipv6: "" }).argv[2];
    const env = this.stubbed && apply ? ["env", `PATH=${this.stubs}:${process.env.PATH}`, `TMPDIR=${this.tmp}`] : [];
    return this.ns.exec([...env, ...argv], options);
  }

  readFile(p: string): Promise<string | undefined> {
    return this.ns.readFile(p);
  }

  writeFile(p: string, content: string): Promise<void> {
    return this.ns.writeFile(p, content);
  }

  async close(): Promise<void> {}
}

/** Where a tool really is (in this machine's PATH). */
const realPath = (name: string) => execFileSync("sh", ["-c", 'command -v "$1"', "sh", name], { encoding: "utf8" }).trim();

/**
 * Puts a stub for `name` in `dir`: it counts its calls (`$n`, from 1), runs
 * `body` (which sees the arguments, `$test` set when `--test` is among
 * them), then runs the real tool unless `body` exited.
 */
function stub(dir: string, name: string, body: string): void {
  const script = `#!/bin/sh
n=$(($(cat "${dir}/${name}.calls" 2> /dev/null || echo 0) + 1)); echo "$n" > "${dir}/${name}.calls"
test=; case " $* " in *" --test "*) test=1 ;; esac
${body}
exec ${realPath(name)} "$@"
`;
  fs.writeFileSync(path.join(dir, name), script, { mode: 0o755 });
}

/** Every family's save, without comments. */
async function saveBoth(ns: Netns, backend: Backend): Promise<Record<Family, string>> {
  const save = async (f: Family) => (await ns.run([tool(f, backend, "-save")])).split("\n").filter((l) => !l.startsWith("#")).join("\n");
  return { ipv4: await save("ipv4"), ipv6: await save("ipv6") };
}

/** What each family held right after the failure: as before, or the transaction fully applied. */
type Expected = Record<Family, "as before" | "applied">;

interface Fault {
  /** What the test is about. */
  readonly title: string;
  /** Writes the stubs for the backend. */
  readonly stubs: (dir: string, backend: Backend) => void;
  /** `undefined` when the transaction stands (the failure came after everything was applied). */
  readonly error?: { readonly type: typeof RestoreError | typeof TransactionError; readonly message: RegExp };
  readonly expected: Expected;
  /** Whether the stubs play a second writer that adds {@link FOREIGN} to ipv4. */
  readonly foreign?: boolean;
}

/** Adds the foreign rules to ipv4 (by the real tool, as Docker would, not under our lock). */
const secondWriter = (backend: Backend) =>
  FOREIGN.map((line) => `${tool("ipv4", backend, "")} -w ${line.startsWith(`-A ${DOCKER_USER}`) ? line.replace("-A", "-I").replace(DOCKER_USER, `${DOCKER_USER} 1`) : line}`).join("\n");

const FAULTS: readonly Fault[] = [
  {
    title: "ipv4's --test fails",
    stubs: (d, b) => stub(d, tool("ipv4", b, "-restore"), `[ -z "$test" ] || { echo "stub: ipv4 test refused" >&2; exit 2; }`),
    error: { type: RestoreError, message: /iptables-restore.*rejected the transaction \(nothing was changed\)/ },
    expected: { ipv4: "as before", ipv6: "as before" },
  },
  {
    title: "ipv6's --test fails",
    stubs: (d, b) => stub(d, tool("ipv6", b, "-restore"), `[ -z "$test" ] || { echo "stub: ipv6 test refused" >&2; exit 2; }`),
    error: { type: RestoreError, message: /ip6tables-restore.*rejected the transaction \(nothing was changed\)/ },
    expected: { ipv4: "as before", ipv6: "as before" },
  },
  {
    title: "ipv4's restore fails without applying",
    stubs: (d, b) => stub(d, tool("ipv4", b, "-restore"), `[ -n "$test" ] || { echo "stub: ipv4 restore failed" >&2; exit 1; }`),
    error: { type: RestoreError, message: /iptables-restore.*failed after its test passed; nothing was changed \(read back\)/ },
    expected: { ipv4: "as before", ipv6: "as before" },
  },
  {
    title: "ipv4's restore applies, then exits non-zero",
    stubs: (d, b) => stub(d, tool("ipv4", b, "-restore"), `[ -n "$test" ] || { cat | ${realPath(tool("ipv4", b, "-restore"))} "$@"; exit 1; }`),
    error: { type: TransactionError, message: /iptables-restore failed after its test passed \(exit 67\)[^]*read back afterwards: ipv4 applied, ipv6 not applied/ },
    expected: { ipv4: "applied", ipv6: "as before" },
  },
  {
    title: "ipv6's restore fails while a second writer adds rules to ipv4: ipv4 is taken back, their rules stay",
    stubs: (d, b) => stub(d, tool("ipv6", b, "-restore"), `[ -n "$test" ] || { ${secondWriter(b).replace(/\n/g, "; ")}; echo "stub: ipv6 restore failed" >&2; exit 1; }`),
    error: { type: RestoreError, message: /ip6tables-restore.*failed after its test passed; ipv4's part was rolled back, nothing was changed/ },
    expected: { ipv4: "as before", ipv6: "as before" },
    foreign: true,
  },
  {
    title: "ipv6's restore applies, then exits non-zero: ipv4 is taken back",
    stubs: (d, b) => stub(d, tool("ipv6", b, "-restore"), `[ -n "$test" ] || { cat | ${realPath(tool("ipv6", b, "-restore"))} "$@"; exit 1; }`),
    error: { type: TransactionError, message: /ip6tables-restore failed after its test passed \(exit 68\)[^]*read back afterwards: ipv4 not applied, ipv6 applied/ },
    expected: { ipv4: "as before", ipv6: "applied" },
  },
  {
    title: "ipv6's restore fails and so does the rollback",
    stubs: (d, b) => {
      stub(d, tool("ipv6", b, "-restore"), `[ -n "$test" ] || { echo "stub: ipv6 restore failed" >&2; exit 1; }`);
      // Calls: ipv4 --test, ipv4 restore, then the rollback.
      stub(d, tool("ipv4", b, "-restore"), `[ "$n" != 3 ] || { echo "stub: rollback failed" >&2; exit 1; }`);
    },
    error: { type: TransactionError, message: /taking ipv4's part back failed too \(exit 72\)[^]*read back afterwards: ipv4 applied, ipv6 not applied/ },
    expected: { ipv4: "applied", ipv6: "as before" },
  },
  {
    title: "reading back at the end fails after everything was applied: the transaction stands",
    // Calls: the fingerprint check, then the read-back.
    stubs: (d, b) => stub(d, tool("ipv4", b, "-save"), `[ "$n" = 1 ] || { echo "stub: save failed" >&2; exit 1; }`),
    expected: { ipv4: "applied", ipv6: "applied" },
  },
  {
    title: "the script is killed between the families",
    stubs: (d, b) => stub(d, tool("ipv6", b, "-restore"), `[ -n "$test" ] || { kill -9 $PPID; exit 1; }`),
    error: { type: TransactionError, message: /the apply command was killed \(exit 128\)[^]*read back afterwards: ipv4 applied, ipv6 not applied/ },
    expected: { ipv4: "applied", ipv6: "as before" },
  },
  {
    title: "the script is killed before any restore",
    stubs: (d, b) => stub(d, tool("ipv4", b, "-restore"), `kill -9 $PPID; exit 1`),
    error: { type: TransactionError, message: /the apply command was killed \(exit 128\)[^]*read back afterwards: ipv4 not applied, ipv6 not applied/ },
    expected: { ipv4: "as before", ipv6: "as before" },
  },
];

describe.each(BACKENDS)("faults in the apply command (%s)", (backend) => {
  test.each(FAULTS.map((f) => [f.title, f] as const))("%s", async (_title, fault) => {
    const ns = await Netns.create(`af${backend.slice(0, 3)}`);
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pdf-faults-"));
    try {
      const [stubs, tmp] = [path.join(scratch, "bin"), path.join(scratch, "tmp")];
      fs.mkdirSync(stubs);
      fs.mkdirSync(tmp);
      fault.stubs(stubs, backend);
      for (const family of FAMILIES) await ns.run([tool(family, backend, "-restore")], { stdin: DOCKER[family] });
      const before = await saveBoth(ns, backend);
      const host = new StubbedHost(ns, stubs, tmp);
      const session = new HostSession(host, backend);

      const outcome = await session.apply(WEB).then(() => undefined, (e: unknown) => e);
      if (fault.error) {
        expect(outcome).toBeInstanceOf(fault.error.type);
        expect((outcome as Error).message).toMatch(fault.error.message);
      } else expect(outcome).toBeUndefined();
      const failed = await saveBoth(ns, backend);
      expect(fs.readdirSync(tmp)).toEqual([]);

      // The next apply converges; a third has nothing to do.
      host.stubbed = false;
      await session.apply(WEB);
      expect((await session.apply(WEB)).operations).toEqual({ ipv4: [], ipv6: [] });
      const done = await saveBoth(ns, backend);
      /** A family's save without the second writer's rules, which must be there when it played. */
      const theirsAside = (family: Family, text: string) => {
        if (!fault.foreign || family !== "ipv4") return text;
        for (const line of FOREIGN) expect(text.split("\n")).toContain(line);
        return text.split("\n").filter((l) => !FOREIGN.includes(l)).join("\n");
      };
      for (const family of FAMILIES) {
        expect(done[family]).not.toBe(before[family]);
        const expected = fault.expected[family] === "applied" ? done[family] : before[family];
        expect({ family, text: theirsAside(family, failed[family]) }).toEqual({ family, text: expected === done[family] ? theirsAside(family, expected) : expected });
        theirsAside(family, done[family]);
      }
    } finally {
      await ns.delete();
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
