import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dockerNftLayout } from "../../provider/nftables/docker-layout";
import { parseNftDocument, type NftDocument } from "../../provider/nftables/nft-json";
import { readTableList } from "../../provider/nftables/table-list";

/*
 * Docker 29's nftables tables, as JSON: the real capture's text
 * (fixtures/docker-29.7.2/nftables/nft-list-ruleset.txt) and moby's rule
 * formats (moby-formats/ruleset.nft), each loaded with `nft -f` into a fresh
 * namespace and listed with `nft -j` (nft 1.0.6); see the README there.
 */

const DIR = join(__dirname, "../fixtures/docker-29.7.2/nftables");

function load(...parts: string[]): NftDocument {
  return parseNftDocument(readFileSync(join(DIR, ...parts), "utf8"));
}

/** Docker's table of one family, from a fixture folder. */
function dockerTable(dir: string[], family: "ip" | "ip6"): NftDocument {
  return load(...dir, `list-table-${family}-docker-bridges.json`);
}

describe("dockerNftLayout on the Docker 29.7.2 capture", () => {
  it("reads docker0, its published 8080 and its direct-access drop (IPv4)", () => {
    const layout = dockerNftLayout(dockerTable([], "ip"), "ipv4");
    expect(layout.present).toBe(true);
    expect([...layout.bridges]).toEqual(["docker0"]);
    expect(layout.published).toEqual([
      { family: "ipv4", protocol: "tcp", hostPort: "8080", bindAddress: "0.0.0.0", target: "172.17.0.2:80", containerAddress: "172.17.0.2", containerPort: "80", bridge: "docker0" },
    ]);
    expect([...layout.directAccessDropped]).toEqual(["172.17.0.2"]);
  });

  it("reads an IPv6 table without bridges or ports as present and empty", () => {
    const layout = dockerNftLayout(dockerTable([], "ip6"), "ipv6");
    expect(layout).toEqual({ family: "ipv6", present: true, bridges: new Set(), published: [], directAccessDropped: new Set() });
  });

  it("is absent in a family whose table the document does not hold", () => {
    expect(dockerNftLayout(dockerTable([], "ip"), "ipv6").present).toBe(false);
  });
});

describe("dockerNftLayout on moby's rule formats", () => {
  it("reads bind addresses, ranges, udp, hairpin mode (no iifname) and trusted interfaces", () => {
    const layout = dockerNftLayout(dockerTable(["moby-formats"], "ip"), "ipv4");
    expect([...layout.bridges].sort()).toEqual(["br-a1", "docker0"]);
    expect(layout.published).toEqual([
      { family: "ipv4", protocol: "tcp", hostPort: "8080", bindAddress: "0.0.0.0", target: "172.17.0.2:80", containerAddress: "172.17.0.2", containerPort: "80", bridge: "docker0" },
      { family: "ipv4", protocol: "udp", hostPort: "5353", bindAddress: "127.0.0.1", target: "172.18.0.2:53", containerAddress: "172.18.0.2", containerPort: "53", bridge: "br-a1" },
      { family: "ipv4", protocol: "tcp", hostPort: "9000:9002", bindAddress: "0.0.0.0", target: "172.18.0.3:9000-9002", containerAddress: "172.18.0.3", containerPort: "9000:9002", bridge: "br-a1" },
      // no `iifname != BR` (userland-proxy off): the bridge is the one whose forward-in chain accepts the container
      { family: "ipv4", protocol: "tcp", hostPort: "8443", bindAddress: "192.0.2.10", target: "172.18.0.3:443", containerAddress: "172.18.0.3", containerPort: "443", bridge: "br-a1" },
    ]);
    expect([...layout.directAccessDropped].sort()).toEqual(["172.17.0.2", "172.18.0.2"]);
  });

  it("reads IPv6 mappings past Docker's `ip6 saddr != fe80::/10`", () => {
    const layout = dockerNftLayout(dockerTable(["moby-formats"], "ip6"), "ipv6");
    expect(layout.published).toEqual([
      { family: "ipv6", protocol: "tcp", hostPort: "8080", bindAddress: "::", target: "[fd00::2]:80", containerAddress: "fd00::2", containerPort: "80", bridge: "docker0" },
      { family: "ipv6", protocol: "tcp", hostPort: "8081", bindAddress: "2001:db8::10", target: "[fd00::2]:81", containerAddress: "fd00::2", containerPort: "81", bridge: "docker0" },
    ]);
    expect([...layout.directAccessDropped]).toEqual(["fd00::2"]);
  });
});

describe("readTableList", () => {
  it("sees Docker's nftables backend in both families and no table of ours", () => {
    expect(readTableList(load("list-tables.json"))).toEqual({ dockerNftables: { ipv4: true, ipv6: true }, ours: { ipv4: false, ipv6: false } });
  });

  it("sees our tables", () => {
    const document = parseNftDocument(JSON.stringify({ nftables: [{ metainfo: {} }, { table: { family: "ip6", name: "pulumi-docker-firewall", handle: 3 } }, { table: { family: "inet", name: "docker-bridges", handle: 4 } }] }));
    expect(readTableList(document)).toEqual({ dockerNftables: { ipv4: false, ipv6: false }, ours: { ipv4: false, ipv6: true } });
  });

  it("refuses output that is not nft's JSON document", () => {
    expect(() => parseNftDocument("table ip x {")).toThrow(/no JSON document/);
    expect(() => parseNftDocument('{"tables": []}')).toThrow(/"nftables" array/);
  });
});
