import { exposure } from "../../provider/exposure/exposure";
import { generateBigHost } from "../../provider/testing/generate-big-host";
import { dockerCapture, snapshotOf } from "../support/fixtures";
import { withRules } from "../support/with-rules";

const docker28 = dockerCapture("docker-28.5.2/default", "02-published-8080_80.txt");

describe("exposure on real captures", () => {
  it("28.5.2: 8080 forwarded to everyone on every interface but docker0; docker-proxy serves IPv6 and docker0", () => {
    const entries = exposure(docker28);
    expect(entries.map((e) => `${e.family} ${e.protocol}/${e.port} on ${e.boundOn} by ${e.servedBy.join(", ")}`)).toEqual(["ipv4 tcp/8080 on 0.0.0.0 by 172.17.0.2:80, docker-proxy", "ipv6 tcp/8080 on :: by docker-proxy"]);
    expect(entries[0].parts).toEqual([
      expect.objectContaining({ inInterface: "docker0", sources: ["0.0.0.0/0"], reachable: true, path: "proxy" }),
      expect.objectContaining({ inInterface: "any other interface", sources: ["0.0.0.0/0"], reachable: true, path: "forward", decidedBy: expect.objectContaining({ chain: "DOCKER", position: 1 }) }),
    ]);
    expect(entries[1].parts).toEqual([expect.objectContaining({ inInterface: null, sources: ["::/0"], reachable: true, path: "proxy" })]);
  });

  it("an allowlist in DOCKER-USER splits the sources exactly at its boundaries, each part with its rule", () => {
    const snapshot = withRules(docker28, "ipv4", "filter", [
      "-A DOCKER-USER -i eth0 -m iprange --src-range 192.0.2.10-192.0.2.20 -j RETURN",
      "-A DOCKER-USER -i eth0 -m conntrack --ctstate NEW -j DROP",
    ]);
    const [v4] = exposure(snapshot);
    const onEth0 = v4.parts.filter((p) => p.inInterface === "eth0");
    expect(onEth0).toEqual([
      expect.objectContaining({ reachable: false, decidedBy: expect.objectContaining({ chain: "DOCKER-USER", position: 2 }) }),
      expect.objectContaining({ reachable: true, path: "forward", sources: ["192.0.2.10/31", "192.0.2.12/30", "192.0.2.16/30", "192.0.2.20/32"] }),
    ]);
    expect(onEth0[0].sources).toContain("0.0.0.0/1");
    expect(v4.parts.find((p) => p.inInterface === "any other interface")).toMatchObject({ sources: ["0.0.0.0/0"], reachable: true });
  });

  it("a loopback publication: 26.1.5 lets a neighbour in via DNAT, 28.5.2's raw rule stops it", () => {
    const old = exposure(dockerCapture("docker-26.1.5/loopback", "02-published-127.0.0.1_8080_80.txt"));
    expect(old[0]).toMatchObject({ boundOn: "127.0.0.1" });
    expect(old[0].parts.find((p) => p.inInterface === "any other interface")).toMatchObject({ reachable: true, path: "forward" });
    const fixed = exposure(dockerCapture("docker-28.5.2/loopback", "02-published-127.0.0.1_8080_80.txt"));
    expect(fixed[0].parts).toEqual([expect.objectContaining({ inInterface: null, sources: ["0.0.0.0/0"], reachable: false, decidedBy: expect.objectContaining({ table: "raw", position: 2 }) })]);
  });

  it("every capture's report is complete: each interface class covers the whole address space once", () => {
    for (const [dir, file] of [
      ["docker-26.1.5/default", "02-published-8080_80.txt"],
      ["docker-26.1.5/ipv6", "02-published-8080_80.txt"],
      ["docker-28.5.2/ipv6", "02-published-8080_80.txt"],
      ["docker-28.5.2/iptables-false", "02-published-8080_80.txt"],
      ["docker-29.7.2/iptables", "iptables-save.txt"],
    ]) {
      for (const entry of exposure(dockerCapture(dir, file))) {
        const byInterface = new Map<string | null, number>();
        for (const part of entry.parts) byInterface.set(part.inInterface, (byInterface.get(part.inInterface) ?? 0) + part.sources.reduce((n, p) => n + 2 ** ((entry.family === "ipv4" ? 32 : 128) - Number(p.split("/")[1])), 0));
        for (const covered of byInterface.values()) expect(covered).toBe(2 ** (entry.family === "ipv4" ? 32 : 128));
      }
    }
  });

  it("reports a 50,000-rule host", () => {
    const big = snapshotOf(generateBigHost({ filterRules: 50_000, dockerUserRules: 20_000 }), undefined);
    const [entry] = exposure(big);
    expect(entry).toMatchObject({ port: 8080, boundOn: "0.0.0.0" });
    expect(entry.parts.some((p) => p.reachable === true && p.path === "forward")).toBe(true);
  });
});

describe("exposure of a published port range", () => {
  const ranged = snapshotOf(
    [
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      ":DOCKER - [0:0]",
      "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
      "-A DOCKER -i docker0 -j RETURN",
      "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8000:8010 -j DNAT --to-destination 172.17.0.2:8000-8010",
      "COMMIT",
      "*filter",
      ":FORWARD DROP [0:0]",
      ":DOCKER - [0:0]",
      ":DOCKER-USER - [0:0]",
      "-A FORWARD -j DOCKER-USER",
      "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A FORWARD -o docker0 -j DOCKER",
      "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT",
      "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 8000:8010 -j ACCEPT",
      "-A DOCKER-USER -p tcp -m tcp --dport 8005 -m conntrack --ctstate NEW -j DROP",
      "COMMIT",
      "",
    ].join("\n"),
    undefined,
  );

  it("keeps each port in the range, and splits the range where the answers differ", () => {
    const entries = exposure(ranged);
    // From docker0 itself nat DOCKER returns first and nothing listens: only the other interfaces are DNATed.
    expect(entries.map((e) => [e.port, e.portRange, e.parts.filter((p) => p.inInterface !== "docker0").map((p) => p.reachable)])).toEqual([
      [8000, "8000:8004", [true]],
      [8005, undefined, [false]],
      [8006, "8006:8010", [true]],
    ]);
    expect(entries[1].parts.find((p) => p.inInterface !== "docker0")?.decidedBy).toMatchObject({ chain: "DOCKER-USER", position: 1 });
  });
});
