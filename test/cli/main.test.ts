import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalHost } from "../../provider/host/local-host";
import type { ExecResult } from "../../provider/host/host";
import { compiledPath } from "../support/compiled";
import { ExposureLab, FORWARDED_PORT } from "../support/exposure-lab";

/**
 * The built CLI (`npm run build` first) run inside the lab's host
 * namespace, as a user would run it on a Docker host: its output, its
 * `--json` shape and its exit codes.
 */

const local = new LocalHost();
let lab: ExposureLab | undefined;

beforeAll(async () => {
  lab = await ExposureLab.create();
  await lab.setRules(
    "ipv4",
    [
      "-A DOCKER-USER -s 198.51.100.17/32 -j DROP",
      "-A DOCKER-USER -s 198.51.100.18/32 -m limit --limit 5/sec -j DROP",
      // Client B's side of the host: what can-reach sees only when --to defaults to the host's address on --in.
      "-A DOCKER-USER -m conntrack --ctorigdst 203.0.113.9/32 -j DROP",
    ],
    [],
  );
});

afterAll(async () => {
  await lab?.delete();
});

/** Runs the CLI in the lab's host namespace. */
function cli(...args: string[]): Promise<ExecResult> {
  return local.exec(["ip", "netns", "exec", lab!.host.name, "node", compiledPath("provider/cli/main.js"), ...args], { timeoutMs: 60_000 });
}

const clientA = () => lab!.clients[0];

test("can-reach: reachable (exit 0), one line with the path and the deciding rule", async () => {
  const result = await cli("can-reach", "--from", "198.51.100.19", "--in", clientA().hostInterface, "--port", String(FORWARDED_PORT));
  expect(result).toMatchObject({ code: 0, stderr: "" });
  expect(result.stdout).toBe("reachable (forward) — filter DOCKER #1: -A DOCKER -d 203.0.113.2/32 ! -i ctr0 -o ctr0 -p tcp -m tcp --dport 80 -j ACCEPT\n");
});

test("can-reach: blocked (exit 1), naming the DOCKER-USER rule; --json has reachable, path, decidedBy and reason", async () => {
  const line = await cli("can-reach", "--from", "198.51.100.17", "--in", clientA().hostInterface, "--to", clientA().hostAddress.ipv4, "--port", String(FORWARDED_PORT));
  expect(line).toMatchObject({ code: 1, stdout: "blocked (forward) — filter DOCKER-USER #1: -A DOCKER-USER -s 198.51.100.17/32 -j DROP\n" });
  const json = await cli("can-reach", "--from", "198.51.100.17", "--in", clientA().hostInterface, "--port", String(FORWARDED_PORT), "--json");
  expect(json.code).toBe(1);
  expect(JSON.parse(json.stdout)).toEqual({
    reachable: false,
    path: "forward",
    decidedBy: { table: "filter", chain: "DOCKER-USER", position: 1, text: "-A DOCKER-USER -s 198.51.100.17/32 -j DROP" },
    reason: expect.stringContaining("dropped by filter DOCKER-USER #1"),
  });
});

test("can-reach: --to defaults to the host's own address on --in (here one a rule names)", async () => {
  const clientB = lab!.clients[1];
  expect(clientB.hostAddress.ipv4).toBe("203.0.113.9");
  const result = await cli("can-reach", "--from", "198.51.100.33", "--in", clientB.hostInterface, "--port", String(FORWARDED_PORT));
  expect(result).toMatchObject({ code: 1, stdout: "blocked (forward) — filter DOCKER-USER #3: -A DOCKER-USER -m conntrack --ctorigdst 203.0.113.9 -j DROP\n" });
});

test("can-reach: a match it does not understand (limit) gives unknown (exit 2) and null in JSON", async () => {
  const result = await cli("can-reach", "--from", "198.51.100.18", "--in", clientA().hostInterface, "--port", String(FORWARDED_PORT), "--json");
  expect(result.code).toBe(2);
  expect(JSON.parse(result.stdout)).toMatchObject({ reachable: null, decidedBy: { chain: "DOCKER-USER", position: 2 } });
});

test("can-reach: nothing serves the port (exit 1, path null)", async () => {
  const result = await cli("can-reach", "--from", "198.51.100.19", "--port", "7777", "--json");
  expect(result.code).toBe(1);
  expect(JSON.parse(result.stdout)).toMatchObject({ reachable: false, path: null });
});

test("exposure: a table with the forwarded port and the host's own socket; --json the entries", async () => {
  const table = await cli("exposure");
  expect(table.code).toBe(2); // the limit rule leaves one address unknown
  const lines = table.stdout.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^PORT\s+FAMILY\s+BOUND ON\s+PATH\s+REACHABLE FROM\s+DECIDING RULE$/);
  expect(lines.some((l) => /^8080\/tcp\s+ipv4\s+0\.0\.0\.0\s+forward\s+blocked: 198\.51\.100\.17\/32 on any other interface\s+filter DOCKER-USER #1/.test(l))).toBe(true);
  expect(lines.some((l) => /^8080\/tcp\s+ipv4\s+0\.0\.0\.0\s+forward\s+anywhere except 198\.51\.100\.17\/32, 198\.51\.100\.18\/32 on any other interface\s+filter DOCKER #1/.test(l))).toBe(true);
  expect(lines.some((l) => /^9090\/tcp\s+ipv4\s+0\.0\.0\.0\s+proxy\s+anywhere/.test(l))).toBe(true);
  const json = await cli("exposure", "--json");
  const entries = JSON.parse(json.stdout) as { family: string; port: number; parts: { sources: string[]; reachable: boolean | null }[] }[];
  const forwarded = entries.find((e) => e.family === "ipv4" && e.port === FORWARDED_PORT)!;
  expect(forwarded.parts).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ sources: ["198.51.100.17/32"], reachable: false }),
      expect.objectContaining({ sources: ["198.51.100.18/32"], reachable: null }),
    ]),
  );
});

test("usage errors exit 64 with a message on stderr; --help documents the exit codes", async () => {
  const bad = await cli("can-reach", "--from", "198.51.100.19");
  expect(bad).toMatchObject({ code: 64, stdout: "" });
  expect(bad.stderr).toContain("--port is required");
  const family = await cli("can-reach", "--from", "198.51.100.19", "--to", "2001:db8::1", "--port", "80");
  expect(family.code).toBe(64);
  const help = await cli("--help");
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/Exit codes:[\s\S]*64\s+usage error[\s\S]*69\s+the host could not be read/);
});

test("a host that cannot be reached over SSH exits 69, after a progress line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pdfexp-key-"));
  const key = join(dir, "id_rsa");
  writeFileSync(key, generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "pkcs1", format: "pem" } }).privateKey);
  const result = await cli("exposure", "--host", "127.0.0.1", "--ssh-port", "1", "--key", key);
  rmSync(dir, { recursive: true, force: true });
  expect(result.code).toBe(69);
  expect(result.stderr).toContain("reading the firewall of root@127.0.0.1:1");
  expect(result.stderr).toMatch(/pulumi-docker-firewall: .*127\.0\.0\.1/);
});
