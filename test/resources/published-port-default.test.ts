import { publishedPortDefault } from "../../provider/resources/published-port-default-resource";
import { observePublishedPortDefault, publishedPortDefaultRules, publishedPortDefaultSchema } from "../../provider/resources/published-port-default";
import { dockerCapture } from "../support/fixtures";

const OWNER = "p/s/default/closed";
const tag = (i: number, priority = 999) => `-m comment --comment "pdf:${OWNER}:${priority}:${i}"`;
const args = (extra: Record<string, unknown> = {}) => publishedPortDefaultSchema.parse({ __owner: OWNER, ...extra });
const texts = (rules: readonly { text: string }[]) => rules.map((r) => r.text);

describe("PublishedPortDefault rules", () => {
  const snapshot = dockerCapture("docker-28.5.2/default", "02-published-8080_80.txt");

  it("DNATed connections from Docker's bridges return, every other one is dropped, direct access into a bridge is dropped, and each docker-proxy port is closed in INPUT", () => {
    const rules = publishedPortDefaultRules(args(), snapshot);
    expect(texts(rules.ipv4)).toEqual([
      `-A DOCKER-USER -i docker0 -m conntrack --ctstate DNAT ${tag(0)} -j RETURN`,
      `-A DOCKER-USER -i br-+ -m conntrack --ctstate DNAT ${tag(1)} -j RETURN`,
      `-A DOCKER-USER -m conntrack --ctstate DNAT ${tag(2)} -j DROP`,
      `-A DOCKER-USER ! -i docker0 -o docker0 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL ${tag(3)} -j DROP`,
      `-A DOCKER-USER ! -i br-+ -o br-+ -m conntrack ! --ctstate DNAT --ctdir ORIGINAL ${tag(4)} -j DROP`,
    ]);
    // 28.5.2 with IPv6 off on the bridge: Docker writes ip6tables rules, and docker-proxy serves [::]:8080.
    expect(texts(rules.ipv6)).toEqual([
      `-A DOCKER-USER -i docker0 -m conntrack --ctstate DNAT ${tag(5)} -j RETURN`,
      `-A DOCKER-USER -i br-+ -m conntrack --ctstate DNAT ${tag(6)} -j RETURN`,
      `-A DOCKER-USER -m conntrack --ctstate DNAT ${tag(7)} -j DROP`,
      `-A DOCKER-USER ! -i docker0 -o docker0 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL ${tag(8)} -j DROP`,
      `-A DOCKER-USER ! -i br-+ -o br-+ -m conntrack ! --ctstate DNAT --ctdir ORIGINAL ${tag(9)} -j DROP`,
      `-A INPUT ! -i lo -p tcp -m tcp --dport 8080 -m conntrack --ctdir ORIGINAL ${tag(10)} -j DROP`,
    ]);
  });

  it("with inInterface: only connections arriving there, no RETURNs; priority and family as given", () => {
    const rules = publishedPortDefaultRules(args({ inInterface: "eth0", family: "ipv4", priority: 900 }), snapshot);
    expect(texts(rules.ipv4)).toEqual([
      `-A DOCKER-USER -i eth0 -m conntrack --ctstate DNAT ${tag(0, 900)} -j DROP`,
      `-A DOCKER-USER -i eth0 -o docker0 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL ${tag(1, 900)} -j DROP`,
      `-A DOCKER-USER -i eth0 -o br-+ -m conntrack ! --ctstate DNAT --ctdir ORIGINAL ${tag(2, 900)} -j DROP`,
    ]);
    expect(rules.ipv6).toEqual([]);
  });

  it("observes every published port on every path", () => {
    const observed = observePublishedPortDefault(args(), snapshot);
    expect(observed.outputs.served).toEqual(
      expect.arrayContaining([
        { family: "ipv4", path: "forward", address: "0.0.0.0", port: "8080", by: "172.17.0.2:80" },
        { family: "ipv6", path: "proxy", address: "::", port: "8080", by: "docker-proxy" },
      ]),
    );
    expect(observed.outputs.closedPaths).toEqual({ ipv4: [], ipv6: [] });
  });

  it("check refuses a negated interface and unknown keys, each at its path", async () => {
    const { failures } = await publishedPortDefault.check({}, { __owner: OWNER, inInterface: "!eth0", allowFrom: [] });
    expect(failures).toEqual([
      { property: "inInterface", reason: expect.stringMatching(/negation is not allowed/) },
      { property: "allowFrom", reason: expect.stringMatching(/allowFrom/) },
    ]);
  });
});
