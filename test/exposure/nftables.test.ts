import { canReach } from "../../provider/exposure/can-reach";
import { exposure } from "../../provider/exposure/exposure";
import { HostSession } from "../../provider/host-session";
import { dockerUserRules, dockerUserRuleSchema } from "../../provider/resources/docker-user-rule";
import { fixtureText } from "../support/fixtures";
import { Netns } from "../support/netns";

/*
 * The evaluator on Docker 29's nftables backend: the real capture of its
 * tables loaded into a namespace (port 8080 published to 172.17.0.2:80 on
 * docker0), read by the engine's one command, and a DockerUserRule DROP
 * that the engine puts in our own nftables table.
 */

let ns: Netns;

beforeAll(async () => {
  ns = await Netns.create("exn");
  await ns.run(["nft", "-f", "-"], { stdin: fixtureText("docker-29.7.2/nftables/nft-list-ruleset.txt") });
});

afterAll(async () => {
  await ns?.delete();
});

test("Docker's DNAT and forward chains: 8080 reachable from anywhere but docker0, decided by Docker's accept of the published container port", async () => {
  const snapshot = await new HostSession(ns, "auto").read();
  const [entry] = exposure(snapshot).filter((e) => e.port === 8080 && e.family === "ipv4");
  expect(entry).toMatchObject({ boundOn: "0.0.0.0", servedBy: ["172.17.0.2:80"] });
  expect(entry.parts.find((p) => p.reachable)).toMatchObject({
    sources: ["0.0.0.0/0"],
    path: "forward",
    decidedBy: { table: "filter", chain: "NFT-DOCKER-FORWARD", text: "-A NFT-DOCKER-FORWARD -d 172.17.0.2/32 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT" },
  });
  expect(canReach(snapshot, { from: "198.51.100.7", to: "203.0.113.1", port: 8080 })).toMatchObject({ reachable: true, path: "forward" });
  expect(canReach(snapshot, { from: "198.51.100.7", to: "203.0.113.1", port: 8081 })).toMatchObject({ reachable: false });
});

test("our nftables DROP decides for the sources it names; an ACCEPT of ours leaves Docker's rules to decide", async () => {
  const session = new HostSession(ns, "auto");
  const drop = dockerUserRuleSchema.parse({ __owner: "exn/test/rule/drop", action: "DROP", source: "198.51.100.0/24", protocol: "tcp", originalDestinationPort: 8080 });
  const accept = dockerUserRuleSchema.parse({ __owner: "exn/test/rule/accept", action: "ACCEPT", source: "192.0.2.0/24", protocol: "tcp", originalDestinationPort: 8080 });
  await Promise.all([session.apply({ owner: drop.__owner, rules: dockerUserRules(drop) }), session.apply({ owner: accept.__owner, rules: dockerUserRules(accept) })]);
  const snapshot = await session.read();
  expect(canReach(snapshot, { from: "198.51.100.7", to: "203.0.113.1", port: 8080 })).toMatchObject({
    reachable: false,
    decidedBy: { table: "filter", chain: "NFT-OURS-FORWARD", text: expect.stringMatching(/^-A NFT-OURS-FORWARD -s 198\.51\.100\.0\/24 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL .*-j DROP$/) },
  });
  expect(canReach(snapshot, { from: "192.0.2.7", to: "203.0.113.1", port: 8080 })).toMatchObject({ reachable: true, decidedBy: { chain: "NFT-DOCKER-FORWARD" } });
  await Promise.all([session.apply({ owner: drop.__owner, rules: { ipv4: [], ipv6: [] } }), session.apply({ owner: accept.__owner, rules: { ipv4: [], ipv6: [] } })]);
});
