import { FAMILIES, type Family } from "../family";
import type { Snapshot } from "../host-session";
import { renderRule } from "../iptables/rule";
import type { ChainDecl, Ruleset, SavedRule, Table } from "../iptables/ruleset";
import { tokenize } from "../iptables/tokens";
import type { DockerNftLayout } from "../nftables/docker-layout";
import type { NftChainState } from "../nftables/table-state";

/**
 * The evaluator reads iptables rules. On Docker 29's nftables backend (and
 * wherever our own nftables tables hold rules), this gives it the same
 * firewall as iptables rules in chains named after their origin:
 *
 * - `NFT-OURS-FORWARD` and `NFT-OURS-INPUT` (filter): our `forward` and
 *   `input` base chains, first in FORWARD and INPUT (their priority is
 *   `filter - 10`). An ACCEPT there only ends our chain, so it becomes a
 *   RETURN; a rule the model cannot read becomes one the evaluator does not
 *   understand (`-m nftables`), so the answer is unknown, never a guess.
 * - nat `DOCKER`: Docker's DNAT rules, reached from PREROUTING for local
 *   addresses, as Docker's own nat chain does.
 * - `NFT-DOCKER-FORWARD` (filter, after FORWARD's own rules): per bridge,
 *   what Docker's `filter-forward-in__BR` / `-out__BR` chains do: replies
 *   in, traffic between the bridge's containers, each published container
 *   port, nothing else in; everything out.
 * - raw PREROUTING: Docker's drops of direct access to containers.
 *
 * Docker's table is read through its layout (nftables/docker-layout.ts);
 * what that does not model (ICC off, internal networks, gateway modes) is
 * not in the view.
 */
export function iptablesView(snapshot: Snapshot): Snapshot {
  const changed = FAMILIES.filter((f) => snapshot.nft.docker[f] !== undefined || (snapshot.nft.ours[f]?.chains ?? []).some((c) => c.rules.length > 0));
  if (changed.length === 0) return snapshot;
  const view = { ...snapshot };
  for (const family of changed) view[family] = withNftRules(snapshot[family], family, snapshot.nft.docker[family], snapshot.nft.ours[family]?.chains ?? []);
  return view;
}

/** Lines to put first and last in a table's chains, and the chains they need. */
interface TableLines {
  readonly chains: string[];
  readonly first: string[];
  readonly last: string[];
}

function withNftRules(ruleset: Ruleset, family: Family, docker: DockerNftLayout | undefined, ours: readonly NftChainState[]): Ruleset {
  const lines: Record<"raw" | "nat" | "filter", TableLines> = { raw: { chains: [], first: [], last: [] }, nat: { chains: [], first: [], last: [] }, filter: { chains: [], first: [], last: [] } };
  for (const [nftChain, chain, hook] of [["forward", "NFT-OURS-FORWARD", "FORWARD"], ["input", "NFT-OURS-INPUT", "INPUT"]] as const) {
    const rules = ours.find((c) => c.name === nftChain)?.rules ?? [];
    if (rules.length === 0) continue;
    lines.filter.chains.push(chain);
    lines.filter.first.push(`-A ${hook} -j ${chain}`);
    for (const r of rules) {
      lines.filter.last.push(r.rule ? renderRule({ ...r.rule, chain, target: r.rule.target === "ACCEPT" ? "RETURN" : r.rule.target, targetOptions: r.rule.target === "ACCEPT" ? [] : r.rule.targetOptions }) : `-A ${chain} -m nftables -j DROP`);
    }
  }
  if (docker) {
    const host = family === "ipv4" ? "32" : "128";
    lines.nat.chains.push("DOCKER");
    lines.nat.last.push("-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER");
    for (const m of docker.published) {
      const bind = m.bindAddress === "0.0.0.0" || m.bindAddress === "::" ? "" : ` -d ${m.bindAddress}/${host}`;
      lines.nat.last.push(`-A DOCKER${bind}${m.bridge ? ` ! -i ${m.bridge}` : ""} -p ${m.protocol} -m ${m.protocol} --dport ${m.hostPort} -j DNAT --to-destination ${m.target}`);
    }
    lines.filter.chains.push("NFT-DOCKER-FORWARD");
    lines.filter.last.push("-A FORWARD -j NFT-DOCKER-FORWARD");
    for (const bridge of [...docker.bridges].sort()) {
      lines.filter.last.push(`-A NFT-DOCKER-FORWARD -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-A NFT-DOCKER-FORWARD -i ${bridge} -o ${bridge} -j ACCEPT`);
      for (const m of docker.published.filter((p) => p.bridge === bridge)) {
        lines.filter.last.push(`-A NFT-DOCKER-FORWARD -d ${m.containerAddress}/${host} -o ${bridge} -p ${m.protocol} -m ${m.protocol} --dport ${m.containerPort} -j ACCEPT`);
      }
      lines.filter.last.push(`-A NFT-DOCKER-FORWARD -o ${bridge} -j DROP`, `-A NFT-DOCKER-FORWARD -i ${bridge} -j ACCEPT`);
    }
    for (const address of [...docker.directAccessDropped].sort()) {
      const bridge = docker.published.find((p) => p.containerAddress === address)?.bridge;
      if (bridge) lines.raw.last.push(`-A PREROUTING -d ${address}/${host} ! -i ${bridge} -j DROP`);
    }
  }
  const names = new Set([...ruleset.tables.map((t) => t.name), ...Object.keys(lines).filter((name) => lines[name as keyof typeof lines].first.length + lines[name as keyof typeof lines].last.length > 0)]);
  const tables = [...names].map((name) => {
    const existing = ruleset.tables.find((t) => t.name === name);
    const add = lines[name as keyof typeof lines];
    return add ? withLines(existing, name, add) : existing!;
  });
  return { ...ruleset, tables };
}

/** The built-in chains each table has. */
const BUILTIN: Record<string, readonly string[]> = {
  raw: ["PREROUTING", "OUTPUT"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
};

/** A table with lines put first and last, and the chains they need declared. */
function withLines(table: Table | undefined, name: string, lines: TableLines): Table {
  const saved = (line: string): SavedRule => {
    const tokens = tokenize(line);
    return { chain: tokens[1].text, tokens, line };
  };
  const chains: ChainDecl[] = [...(table?.chains ?? [])];
  for (const chain of BUILTIN[name]) if (!chains.some((c) => c.name === chain)) chains.push({ name: chain, policy: "ACCEPT", counters: "[0:0]" });
  for (const chain of lines.chains) if (!chains.some((c) => c.name === chain)) chains.push({ name: chain, policy: "-", counters: "[0:0]" });
  return { name, preamble: table?.preamble ?? [], chains, rules: [...lines.first.map(saved), ...(table?.rules ?? []), ...lines.last.map(saved)] };
}
