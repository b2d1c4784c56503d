/**
 * DaemonConfig against real daemons (Docker 20.10 and 28.5.2), each started
 * by the lab with `--config-file` at the file the resource manages (in the
 * daemon's own temporary directory) and restarted by a `restartCommand` the
 * test provides (../support/daemon-restarter.ts): a script that asks this
 * process to restart the daemon (`DockerDaemon.restart()`) and waits until
 * it has. The engine runs in this
 * process with the sandbox's namespace as its host.
 *
 * create (`ip: 127.0.0.1`, restart if-changed) → a new `-p 8080:80` is
 * DNATed on 127.0.0.1 and the client no longer reaches it; other keys,
 * the file's mode and a `.bak` are there → a corrupt file and a wrong-type
 * value change nothing → a hand edit of a managed key is drift, of another
 * key is kept by the next `up` (restart "never": `restartRequired`) →
 * delete puts back what was there.
 */
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import { DaemonFileError } from "../../provider/daemon/daemon-file-error";
import { daemonConfig } from "../../provider/resources/daemon-config-resource";
import type { Props } from "../../provider/resources/rule-resource";
import { closeAllSessions, setHostFactory } from "../../provider/sessions";
import { startDaemonRestarter, type DaemonRestarter } from "../support/daemon-restarter";
import { enginesUnderTest } from "../support/docker-engines";
import { DockerSandbox, httpUrl } from "../support/docker-sandbox";

describe.each(enginesUnderTest(["20.10", "28.5.2"]))("DaemonConfig on Docker %s", (engine) => {
  let sandbox: DockerSandbox;
  let restarter: DaemonRestarter | undefined;
  let configFile: string;
  let original: string;
  let id: string;
  let outs: Props;

  const args = (more: Props = {}): Props => ({
    path: configFile,
    dockerHost: sandbox.daemon.host,
    restartCommand: [...restarter!.command],
    ip: "127.0.0.1",
    restart: "if-changed",
    ...more,
  });
  const values = async () => JSON.parse(await readFile(configFile, "utf8")) as Record<string, unknown>;
  const mode = async () => ((await stat(configFile)).mode & 0o777).toString(8);
  const clientReaches = () => sandbox.fetch(0, httpUrl(sandbox.clients[0].targetV4, 8080), 2);
  const restarts = () => restarter!.restarts();

  beforeAll(async () => {
    // An unmanaged key of the lab's own, which every step must keep.
    sandbox = await DockerSandbox.start({ engine, ipv6: false, clients: 1, daemonJson: { "log-level": "warn" } });
    restarter = await startDaemonRestarter(sandbox.daemon);
    configFile = sandbox.daemon.configFile;
    await chmod(configFile, 0o640);
    original = await readFile(configFile, "utf8");
    expect(JSON.parse(original)).toMatchObject({ "log-level": "warn" });
    setHostFactory(() => sandbox.target);
  }, 120_000);

  afterAll(async () => {
    await restarter?.stop();
    await closeAllSessions();
    setHostFactory();
    await sandbox?.stop();
  }, 120_000);

  test("create: ip 127.0.0.1 and a restart; a new -p 8080:80 is DNATed on 127.0.0.1 and the client no longer gets in; other keys, mode and a .bak are kept", async () => {
    await sandbox.daemon.runHttpd("before", "8080:80");
    expect(await clientReaches()).toBe("before\n");
    const { inputs, failures } = await daemonConfig.check({}, args());
    expect(failures).toEqual([]);
    ({ id, outs } = await daemonConfig.create(inputs));
    expect(restarts()).toBe(1);
    expect(outs.restartRequired).toBe(false);
    expect(outs.previous).toEqual({ ip: null });
    expect(await values()).toEqual({ ...JSON.parse(original), ip: "127.0.0.1" });
    expect(await mode()).toBe("640");
    expect(await readFile(`${configFile}.bak`, "utf8")).toBe(original);

    await sandbox.daemon.docker(["rm", "-f", "before"]);
    await sandbox.daemon.runHttpd("after", "8080:80");
    const nat = await sandbox.target.run(["iptables-save", "-t", "nat"]);
    expect(nat).toMatch(/^-A DOCKER -d 127\.0\.0\.1\/32 ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [\d.]+:80$/m);
    expect(await clientReaches()).toBeUndefined();
    const read = await daemonConfig.read(id, outs);
    expect(read.props.drift).toEqual([]);
    expect(read.props.effective).toMatchObject({ running: true, iptables: true, publishedOn: ["127.0.0.1"] });
  });

  test("a corrupt file and a managed key of the wrong type are refused with the line, and nothing changes", async () => {
    const good = await readFile(configFile, "utf8");
    for (const [bad, line] of [[good.replace(/\n}\n$/, ",\n}\n"), good.trimEnd().split("\n").length], [good.replace('"ip": "127.0.0.1"', '"ip": ["127.0.0.1"]'), undefined]] as const) {
      await writeFile(configFile, bad);
      const before = await stat(configFile);
      const error = await daemonConfig.update(id, outs, args({ ip: "127.0.0.2" })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DaemonFileError);
      expect((error as Error).message).toContain(`${configFile} line ${line ?? bad.split("\n").findIndex((l) => l.includes('"ip"')) + 1}`);
      expect(await readFile(configFile, "utf8")).toBe(bad);
      expect((await stat(configFile)).mtimeMs).toBe(before.mtimeMs);
    }
    expect(restarts()).toBe(1);
    await writeFile(configFile, good);
  });

  test("a hand edit of a managed key is drift; of another key it is kept by the next up, which with restart never reports restartRequired", async () => {
    const good = await readFile(configFile, "utf8");
    await writeFile(configFile, good.replace('"ip": "127.0.0.1"', '"ip": "0.0.0.0"'));
    expect((await daemonConfig.read(id, outs)).props.drift).toEqual([
      `"ip" is "0.0.0.0" in ${configFile}; declared "127.0.0.1"`,
      `the running daemon publishes the default bridge's ports on 127.0.0.1, but the file says "ip": "0.0.0.0" (restart it to apply the file)`,
    ]);
    await writeFile(configFile, good.replace('"ip": "127.0.0.1"', '"ip": "127.0.0.1",\n  "debug": true'));

    const next = args({ liveRestore: true, restart: "never" });
    expect((await daemonConfig.diff(id, outs, next)).changes).toBe(true);
    ({ outs } = await daemonConfig.update(id, outs, next));
    expect(restarts()).toBe(1);
    expect(outs.restartRequired).toBe(true);
    expect(outs.previous).toEqual({ ip: null, "live-restore": null });
    expect(await values()).toEqual({ ...JSON.parse(original), ip: "127.0.0.1", debug: true, "live-restore": true });
    const read = await daemonConfig.read(id, outs);
    expect(read.props.drift).toEqual([]);
    expect(read.props.effective).toMatchObject({ running: true, liveRestore: false });
  });

  test("delete puts back the previous values (absent keys removed), keeps the hand-edited key and the mode, and with restart never does not restart", async () => {
    await daemonConfig.delete(id, outs);
    expect(await values()).toEqual({ ...JSON.parse(original), debug: true });
    expect(await mode()).toBe("640");
    expect(restarts()).toBe(1);
  });
});
