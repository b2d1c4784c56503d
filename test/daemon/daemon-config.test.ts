import { editableDocument, editedText } from "../../provider/daemon/daemon-file";
import { DaemonFileError } from "../../provider/daemon/daemon-file-error";
import { impactOf } from "../../provider/daemon/impact";
import { daemonConfig } from "../../provider/resources/daemon-config-resource";

const file = (text: string) => ({ exists: true as const, text, owner: "0:0", mode: "600" });

describe("the file check", () => {
  test("a corrupt file is refused with the file and the line", () => {
    expect(() => editableDocument(file('{\n  "ip": "127.0.0.1",\n}\n'), ["ip"], "local", "/etc/docker/daemon.json")).toThrow(
      /^local: \/etc\/docker\/daemon\.json line 3: not valid JSON: .*the file was left as it is/,
    );
  });

  test("a managed key of the wrong type is refused with its line; an unmanaged one is not looked at", () => {
    const text = '{\n  "debug": "yes",\n  "iptables": "false"\n}\n';
    expect(() => editableDocument(file(text), ["iptables"], "local", "/d.json")).toThrow(new DaemonFileError("local", "/d.json", 3, '"iptables" holds "false" (a string); dockerd expects a boolean'));
    expect(() => editableDocument(file(text), ["debug", "ip"], "local", "/d.json")).not.toThrow();
  });

  test("no edit when every key already holds its value; null removes a key", () => {
    const doc = editableDocument(file('{"ip": "127.0.0.1", "icc": false}'), ["ip", "icc"], "local", "/d.json");
    expect(editedText(doc, { ip: "127.0.0.1" })).toBeUndefined();
    expect(editedText(doc, { ip: "127.0.0.1", icc: null })).toBe('{"ip": "127.0.0.1"}');
  });

  test("restoring the previous values (null: absent) gives the original text back", () => {
    const original = '{\n  "debug": true,\n  "ip": "0.0.0.0"\n}\n';
    const managed = editedText(editableDocument(file(original), [], "local", "/d.json"), { ip: "127.0.0.1", "live-restore": true })!;
    expect(editedText(editableDocument(file(managed), [], "local", "/d.json"), { ip: "0.0.0.0", "live-restore": null })).toBe(original);
  });

  test("a missing file reads as an empty object", () => {
    expect(editedText(editableDocument({ exists: false }, ["ip"], "local", "/d.json"), { ip: "127.0.0.1" })).toBe('{\n  "ip": "127.0.0.1"\n}\n');
  });
});

describe("impact", () => {
  test("restart, live-restore, iptables, ip and nftables each get their text", () => {
    const texts = impactOf({ ip: "127.0.0.1", iptables: false, firewallBackend: "nftables" });
    expect(texts).toHaveLength(5);
    expect(texts[0]).toMatch(/restarted .*SIGHUP.*restartRequired/);
    expect(texts[1]).toMatch(/stops every running container/);
    expect(texts[2]).toMatch(/NOT closed: docker-proxy still serves them .* INPUT/);
    expect(texts[3]).toMatch(/default bridge only/);
    expect(texts[4]).toMatch(/net\.ipv4\.ip_forward=1.*before it starts/);
  });

  test("with liveRestore and restart if-changed, only the restart is said", () => {
    expect(impactOf({ liveRestore: true, restart: "if-changed" })).toEqual([expect.stringMatching(/this resource restarts it/)]);
  });
});

describe("check", () => {
  test("unknown keys with did-you-mean, bad addresses, types and backends; every problem at once", async () => {
    const { failures } = await daemonConfig.check({}, { ipp: "1.2.3.4", ip: "10.0.0.0/8", userland_proxy: false, icc: "no", firewallBackend: "nft", restart: "always" });
    expect(failures).toEqual(
      expect.arrayContaining([
        { property: "ipp", reason: 'unknown property "ipp"; did you mean "ip"?' },
        { property: "userland_proxy", reason: 'unknown property "userland_proxy"; did you mean "userlandProxy"?' },
        { property: "ip", reason: expect.stringMatching(/network; "ip" takes one address/) },
        { property: "icc", reason: expect.stringMatching(/boolean/) },
        { property: "firewallBackend", reason: expect.stringMatching(/iptables.*nftables/) },
        { property: "restart", reason: expect.stringMatching(/never.*if-changed/) },
      ]),
    );
  });

  test("at least one key; relative paths and odd docker hosts are refused", async () => {
    const { failures } = await daemonConfig.check({}, { path: "daemon.json", dockerHost: "/run/docker.sock" });
    expect(failures.map((f) => f.property).sort()).toEqual(["", "dockerHost", "path"]);
  });

  test("valid inputs come back with their impact, computed without a host", async () => {
    const { inputs, failures } = await daemonConfig.check({}, { ip: "127.0.0.1", liveRestore: true, restart: "if-changed" });
    expect(failures).toEqual([]);
    expect(inputs.impact).toEqual(impactOf({ ip: "127.0.0.1", liveRestore: true, restart: "if-changed" }));
  });
});
