import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

const TOOLS = ["iptables", "ip6tables"].flatMap((family) =>
  ["", "-nft", "-legacy"].flatMap((variant) => ["", "-save", "-restore"].map((kind) => `${family}${variant}${kind}`)),
);

/**
 * A PATH for a process that runs in the root namespace and must reach
 * firewalls only over SSH (a provider host driving a remote sandbox): every
 * iptables tool on it is a stub that refuses, so a call that lost its
 * `connection` fails loudly instead of changing this machine's firewall.
 */
export async function pathWithoutLocalFirewall(dir: string): Promise<string> {
  const stubs = join(dir, "no-local-firewall");
  await mkdir(stubs, { recursive: true });
  for (const tool of TOOLS) {
    await writeFile(join(stubs, tool), "#!/bin/sh\necho \"$0: this test must not touch the local firewall\" >&2\nexit 1\n", { mode: 0o755 });
  }
  return `${stubs}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`;
}
