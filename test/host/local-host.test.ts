import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostError } from "../../provider/errors";
import { LocalHost } from "../../provider/host/local-host";

const host = new LocalHost();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pdf-local-host-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("LocalHost", () => {
  it("runs argv without a shell: metacharacters arrive as they are", async () => {
    const weird = "$(echo hi); `id` | & > /tmp/x 'q' \"d\"";
    expect(await host.exec(["printf", "%s", weird])).toEqual({ code: 0, stdout: weird, stderr: "" });
  });

  it("passes stdin, and resolves non-zero exits with their stderr", async () => {
    expect((await host.exec(["cat"], { stdin: "a\nb\n" })).stdout).toBe("a\nb\n");
    const failed = await host.exec(["sh", "-c", 'echo oops >&2; exit 3']);
    expect(failed).toEqual({ code: 3, stdout: "", stderr: "oops\n" });
  });

  it("rejects with a HostError for a missing program and for a timeout", async () => {
    await expect(host.exec(["no-such-program-pdf"])).rejects.toThrow(new HostError("local", "`no-such-program-pdf` is not installed (not found on PATH)"));
    await expect(host.exec(["sleep", "5"], { timeoutMs: 200 })).rejects.toThrow(/`sleep` did not finish within 200 ms/);
  });

  it("reads and atomically writes files; a missing file reads as undefined", async () => {
    const path = join(dir, "daemon.json");
    expect(await host.readFile(path)).toBeUndefined();
    await host.writeFile(path, '{"iptables": true}\n');
    expect(await host.readFile(path)).toBe('{"iptables": true}\n');
    expect(await readFile(path, "utf8")).toBe('{"iptables": true}\n');
    await host.writeFile(path, "{}\n");
    expect(await host.readFile(path)).toBe("{}\n");
  });
});
