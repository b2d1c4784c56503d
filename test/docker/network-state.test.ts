import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dockerBridgeRules, parseNetworkRead } from "../../provider/docker/network-state";
import { HostError } from "../../provider/errors";
import { parseSave } from "../../provider/iptables/ruleset";

const SAVE = readFileSync(join(__dirname, "../fixtures/docker-20.10/04-user-bridge-icc-off-binding.v4.txt"), "utf8");
const FINGERPRINT = `#@pdf fingerprint ${"a".repeat(64)}`;
const FIREWALL = `#@pdf firewall\n#@pdf ipv4\n${SAVE}${FINGERPRINT}\n#@pdf ipv6\n#@pdf unavailable\n#@pdf listeners\n`;

describe("dockerBridgeRules", () => {
  it("lists, per table, every rule Docker made that names the bridge or its subnet", () => {
    expect(dockerBridgeRules(parseSave(SAVE), "br-backend", "192.0.2.0/24")).toEqual({
      filter: [
        "-A FORWARD -o br-backend -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A FORWARD -o br-backend -j DOCKER",
        "-A FORWARD -i br-backend ! -o br-backend -j ACCEPT",
        "-A FORWARD -i br-backend -o br-backend -j DROP",
        "-A DOCKER -d 192.0.2.2/32 ! -i br-backend -o br-backend -p tcp -m tcp --dport 80 -j ACCEPT",
        "-A DOCKER-ISOLATION-STAGE-1 -i br-backend ! -o br-backend -j DOCKER-ISOLATION-STAGE-2",
        "-A DOCKER-ISOLATION-STAGE-2 -o br-backend -j DROP",
      ],
      nat: [
        "-A POSTROUTING -s 192.0.2.0/24 ! -o br-backend -j MASQUERADE",
        "-A DOCKER -i br-backend -j RETURN",
        "-A DOCKER -d 127.0.0.1/32 ! -i br-backend -p tcp -m tcp --dport 9000 -j DNAT --to-destination 192.0.2.2:80",
      ],
    });
  });

  it("leaves out our own rules and other bridges' (a name that only starts the same is another bridge)", () => {
    const ours = `-A DOCKER-USER -i br-backend ! -o br-backend -m comment --comment "pdf:p/s/network/backend:500:0 outbound others" -j DROP`;
    const save = `*filter\n:FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n${ours}\n-A FORWARD -o br-backend2 -j DOCKER\nCOMMIT\n`;
    expect(dockerBridgeRules(parseSave(save), "br-backend", undefined)).toEqual({});
  });
});

describe("parseNetworkRead", () => {
  it("reads the inspection's fields: the bridge name from its option, else br- and 12 characters of the id; subnets per family", () => {
    const inspect = {
      Id: "5f3c2a1b0d9e7788", Name: "backend", Driver: "bridge", EnableIPv6: true, Internal: false,
      IPAM: { Config: [{ Subnet: "192.0.2.0/24" }, { Subnet: "2001:db8:1::/64" }] },
      Options: { "com.docker.network.bridge.enable_icc": "false" },
      Containers: { x: { Name: "web" }, y: { Name: "api" } },
    };
    const { network, snapshot } = parseNetworkRead(`#@pdf network\n${JSON.stringify(inspect)}\n${FIREWALL}`, "h");
    expect(network).toEqual({
      id: inspect.Id, driver: "bridge", bridgeName: "br-5f3c2a1b0d9e", subnet: "192.0.2.0/24", subnetV6: "2001:db8:1::/64",
      internal: false, ipv6: true, options: inspect.Options,
    });
    expect(snapshot.unavailable).toEqual(["ipv6"]);
  });

  it("reads an absent network as none, and refuses output without its markers", () => {
    expect(parseNetworkRead(`#@pdf network\n#@pdf network absent\n${FIREWALL}`, "h").network).toBeUndefined();
    expect(() => parseNetworkRead("docker: command not found\n", "h")).toThrow(HostError);
  });
});
