import { dockerLayout } from "../../provider/docker/layout";
import { EMPTY_RULESET } from "../../provider/iptables/ruleset";
import { dockerCapture, docker2010 } from "../support/fixtures";

describe("dockerLayout, on real captures", () => {
  it("20.10: Docker's jump to DOCKER-USER first in FORWARD, docker0, no raw DROP", () => {
    const layout = dockerLayout(docker2010("02-published-8080.v4.txt"));
    expect(layout).toMatchObject({ managed: true, dockerJump: true, firstDockerForwardRule: 1 });
    expect([...layout.bridges]).toEqual(["docker0"]);
    expect(layout.directAccessDropped.size).toBe(0);
  });

  it("20.10 with ip6tables: Docker's rules, but no DOCKER-USER and no jump to it", () => {
    const layout = dockerLayout(docker2010("ipv6-02-published-8080.v6.txt"));
    expect(layout).toMatchObject({ managed: true, dockerJump: false, firstDockerForwardRule: 0 });
  });

  it("26.1.5 default: IPv6 not managed at all", () => {
    const snapshot = dockerCapture("docker-26.1.5/default", "02-published-8080_80.txt");
    expect(dockerLayout(snapshot.ipv4)).toMatchObject({ managed: true, dockerJump: true });
    expect(dockerLayout(snapshot.ipv6).managed).toBe(false);
  });

  it("28.5.2: DOCKER-FORWARD, and the raw table's DROP of direct access to the container", () => {
    const snapshot = dockerCapture("docker-28.5.2/default", "02-published-8080_80.txt");
    const layout = dockerLayout(snapshot.ipv4);
    expect(layout).toMatchObject({ managed: true, dockerJump: true, firstDockerForwardRule: 1 });
    expect([...layout.directAccessDropped]).toEqual(["172.17.0.2"]);
    expect(dockerLayout(snapshot.ipv6)).toMatchObject({ managed: true, dockerJump: true });
  });

  it("28.5.2 with iptables false: IPv4 not managed, IPv6 still is", () => {
    const snapshot = dockerCapture("docker-28.5.2/iptables-false", "02-published-8080_80.txt");
    expect(dockerLayout(snapshot.ipv4).managed).toBe(false);
    expect(dockerLayout(snapshot.ipv6).managed).toBe(true);
  });

  it("no Docker at all", () => {
    expect(dockerLayout(EMPTY_RULESET)).toMatchObject({ managed: false, dockerJump: false, firstDockerForwardRule: undefined });
  });
});
