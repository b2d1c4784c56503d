import { bridgeNetwork, daemonConfig, dockerUserRule, publishedPort } from "../../provider";
import { compiledPath } from "../support/compiled";
import { serializeProgram } from "../support/pulumi-program";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-but-shaped-like-one\n-----END OPENSSH PRIVATE KEY-----\n";

describe("resource names", () => {
  it("refuses two resources of one kind with one name, which would own each other's rules", async () => {
    await expect(serializeProgram(compiledPath("test/fixtures/programs/duplicate-names/index.js"), { project: "dup", stack: "dev" })).rejects.toThrow(
      /two DockerUserRule resources are named "web"/,
    );
  });
});

/** The examples are programs users copy: each must register valid resources, with the connection kept secret. */
describe("examples", () => {
  it("remote-allowlist registers three resources whose inputs pass check, with the connection secret", async () => {
    const resources = await serializeProgram(compiledPath("examples/remote-allowlist/index.js"), {
      project: "remote-allowlist",
      stack: "dev",
      config: { "remote-allowlist:host": "203.0.113.10", "remote-allowlist:sshPrivateKey": KEY, "remote-allowlist:hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" },
    });
    const ours = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/pulumi-docker-firewall:"));
    expect(ours.map((r) => r.name).sort()).toEqual(["database", "replies-first", "web"]);
    for (const r of ours) {
      expect(r.secretKeys).toContain("connection");
      expect(String(r.inputs.__provider)).not.toContain("not-a-real-key");
      const engine = r.type.endsWith(":PublishedPort") ? publishedPort : dockerUserRule;
      expect((await engine.check({}, r.inputs)).failures).toEqual([]);
    }
    expect(ours.find((r) => r.name === "web")!.inputs.__owner).toBe("remote-allowlist/dev/port/web");
  });

  it("localhost-only registers a DaemonConfig of ip 127.0.0.1 whose inputs pass check, with the connection secret", async () => {
    const config = { "localhost-only:host": "203.0.113.10", "localhost-only:sshPrivateKey": KEY, "localhost-only:hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" };
    const resources = await serializeProgram(compiledPath("examples/localhost-only/index.js"), { project: "localhost-only", stack: "dev", config });
    const ours = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/pulumi-docker-firewall:"));
    expect(ours.map((r) => [r.type, r.name])).toEqual([["pulumi-nodejs:dynamic/pulumi-docker-firewall:DaemonConfig", "localhost-only"]]);
    const [daemon] = ours;
    expect(daemon.secretKeys).toContain("connection");
    expect(String(daemon.inputs.__provider)).not.toContain("not-a-real-key");
    expect(daemon.inputs).toMatchObject({ ip: "127.0.0.1", restart: "never", connection: { host: "203.0.113.10", user: "root", privateKey: KEY } });
    const { inputs, failures } = await daemonConfig.check({}, daemon.inputs);
    expect(failures).toEqual([]);
    expect(inputs.impact).toEqual(expect.arrayContaining([expect.stringContaining("ip: 127.0.0.1")]));

    await expect(serializeProgram(compiledPath("examples/localhost-only/index.js"), { project: "localhost-only", stack: "dev", config: { ...config, "localhost-only:restart": "always" } })).rejects.toThrow(
      /config "restart" must be "never" or "if-changed"/,
    );
  });

  it("backend-network registers a locked-down BridgeNetwork whose inputs pass check, with the connection secret", async () => {
    const config = {
      "backend-network:host": "203.0.113.10",
      "backend-network:sshPrivateKey": KEY,
      "backend-network:hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
      "backend-network:upstream": "198.51.100.10",
    };
    const resources = await serializeProgram(compiledPath("examples/backend-network/index.js"), { project: "backend-network", stack: "dev", config });
    const ours = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/pulumi-docker-firewall:"));
    expect(ours.map((r) => [r.type, r.name])).toEqual([["pulumi-nodejs:dynamic/pulumi-docker-firewall:BridgeNetwork", "backend"]]);
    const [network] = ours;
    expect(network.secretKeys).toContain("connection");
    expect(String(network.inputs.__provider)).not.toContain("not-a-real-key");
    expect(network.inputs).toMatchObject({
      networkName: "backend",
      icc: false,
      hostBindingIpv4: "127.0.0.1",
      allowOutboundTo: ["198.51.100.10"],
      connection: { host: "203.0.113.10", user: "root", privateKey: KEY },
      __owner: "backend-network/dev/network/backend",
    });
    expect((await bridgeNetwork.check({}, network.inputs)).failures).toEqual([]);
  });

  it("quickstart registers the README's rule on the local machine", async () => {
    const resources = await serializeProgram(compiledPath("examples/quickstart/index.js"), { project: "docker-firewall-quickstart", stack: "dev" });
    const [rule] = resources.filter((r) => r.type.endsWith(":DockerUserRule"));
    expect(rule.inputs.connection).toBeUndefined();
    const { inputs, failures } = await dockerUserRule.check({}, rule.inputs);
    expect(failures).toEqual([]);
    expect(inputs.ruleText).toEqual({
      ipv4: '-A DOCKER-USER ! -s 192.168.0.0/24 -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -m comment --comment "pdf:docker-firewall-quickstart/dev/rule/office-only-8080:100:0 only the office may reach 8080" -j DROP',
    });
  });
});
