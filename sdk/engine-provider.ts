import type * as pulumi from "@pulumi/pulumi";

/** The engines of `pulumi-docker-firewall/provider` that back a resource. */
export type EngineName = "dockerUserRule" | "publishedPort" | "publishedPortDefault" | "daemonConfig" | "bridgeNetwork";

/**
 * The dynamic provider of a resource: one-line shims that `require()` the
 * installed engine when Pulumi calls them. Only these few lines and the
 * engine's name are serialized into the stack, so `refresh` and `destroy`
 * always run the engine that is installed, never a frozen copy.
 */
export function engineProvider(engine: EngineName): pulumi.dynamic.ResourceProvider {
  return {
    check: (olds, news) => require("pulumi-docker-firewall/provider")[engine].check(olds, news),
    diff: (id, olds, news) => require("pulumi-docker-firewall/provider")[engine].diff(id, olds, news),
    create: (inputs) => require("pulumi-docker-firewall/provider")[engine].create(inputs),
    read: (id, props) => require("pulumi-docker-firewall/provider")[engine].read(id, props),
    update: (id, olds, news) => require("pulumi-docker-firewall/provider")[engine].update(id, olds, news),
    delete: (id, props) => require("pulumi-docker-firewall/provider")[engine].delete(id, props),
  };
}
