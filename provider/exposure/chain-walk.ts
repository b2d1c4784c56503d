import type { Family } from "../family";
import { ruleLine, type Ruleset, type SavedRule, type Table } from "../iptables/ruleset";
import { intersect, subtract, union, type AddressSet } from "./address-set";
import type { Packet, PortRef } from "./packet";
import { compileRule, type CompiledRule } from "./rule-matcher";
import { cannotMatch, ruleGuard, type RuleGuard } from "./rule-prefilter";

/**
 * Walks a built-in chain of a table the way the kernel does (jumps,
 * returns, goto, the policy) for a set of clients at once: each rule splits
 * the set into the clients it matches and the rest, so every client ends
 * with exactly the verdict the kernel would give it, and the rule that gave it.
 */

/** The rule that decided: its table, chain, 1-based position in the chain and text; position 0 is the chain's policy. */
export interface DecidingRule {
  readonly table: string;
  readonly chain: string;
  readonly position: number;
  /** The `-A …` line, or `-P CHAIN POLICY` for a policy. */
  readonly text: string;
}

/** How a table's walk ended for some clients. */
export type Verdict =
  | { readonly kind: "accept" | "drop"; readonly decidedBy: DecidingRule | undefined }
  | { readonly kind: "unknown"; readonly decidedBy: DecidingRule; readonly reason: string }
  | { readonly kind: "dnat"; readonly decidedBy: DecidingRule; readonly address: string | undefined; readonly port: number | undefined }
  | { readonly kind: "redirect"; readonly decidedBy: DecidingRule; readonly port: number | undefined };

/** Some clients and the verdict they got. */
export interface VerdictPart {
  readonly clients: AddressSet;
  readonly verdict: Verdict;
}

/** One chain's rules, with what the walks learn of each kept beside it (filled on first use). */
interface ChainEntry {
  readonly rules: readonly SavedRule[];
  readonly guards: (RuleGuard | undefined)[];
  readonly compiled: (CompiledRule | undefined)[];
}

/** A table's chains by name. */
interface TableIndex {
  readonly name: string;
  readonly policies: ReadonlyMap<string, string>;
  readonly chains: ReadonlyMap<string, ChainEntry>;
}

const indexes = new WeakMap<Table, TableIndex>();

/** The deepest chain nesting followed; iptables itself refuses loops, so this only guards against a corrupt ruleset. */
const MAX_DEPTH = 64;

function indexOf(table: Table): TableIndex {
  let index = indexes.get(table);
  if (!index) {
    const lists = new Map<string, SavedRule[]>(table.chains.map((c) => [c.name, []]));
    for (const rule of table.rules) {
      let list = lists.get(rule.chain);
      if (!list) lists.set(rule.chain, (list = []));
      list.push(rule);
    }
    const chains = new Map<string, ChainEntry>([...lists].map(([name, rules]) => [name, { rules, guards: [], compiled: [] }]));
    index = { name: table.name, policies: new Map(table.chains.map((c) => [c.name, c.policy])), chains };
    indexes.set(table, index);
  }
  return index;
}

/**
 * Walks a built-in chain (`PREROUTING`, `FORWARD`, …) of a table for a
 * packet and a set of clients. A table or chain the host does not have
 * accepts everything (the kernel does not run it).
 * @param seen collects the interface words of every rule looked at
 */
export function walkBuiltin(ruleset: Ruleset, family: Family, tableName: string, chain: string, packet: Packet, clients: AddressSet, seen?: Set<string>): VerdictPart[] {
  const table = ruleset.tables.find((t) => t.name === tableName);
  if (clients.length === 0) return [];
  if (!table) return [{ clients, verdict: { kind: "accept", decidedBy: undefined } }];
  const index = indexOf(table);
  if (!index.chains.has(chain)) return [{ clients, verdict: { kind: "accept", decidedBy: undefined } }];
  const { decided, returned } = walkChain({ index, family, packet, seen }, chain, clients, 0);
  if (returned.length > 0) {
    const policy = index.policies.get(chain) ?? "ACCEPT";
    const decidedBy: DecidingRule = { table: tableName, chain, position: 0, text: `-P ${chain} ${policy}` };
    const verdict: Verdict = policy === "ACCEPT" ? { kind: "accept", decidedBy } : policy === "DROP" ? { kind: "drop", decidedBy } : { kind: "unknown", decidedBy, reason: `policy ${policy} is not understood` };
    decided.push({ clients: returned, verdict });
  }
  return decided;
}

/**
 * The port a DNAT sends a packet to: unchanged without ports, the one port
 * given, the packet's own when it lies in the range (the kernel keeps a port
 * that is in range, as with Docker's `8000-8010` ranges); `null` when the
 * kernel would pick one.
 */
function translatedPort(ports: { first: number; last: number } | undefined, port: PortRef): number | undefined | null {
  if (!ports) return undefined;
  if (ports.first === ports.last) return ports.first;
  return typeof port === "number" && ports.first <= port && port <= ports.last ? port : null;
}

/** What stays the same through one walk. */
interface Walk {
  readonly index: TableIndex;
  readonly family: Family;
  readonly packet: Packet;
  /** Collects the interface words of every rule the walk looks at. */
  readonly seen: Set<string> | undefined;
}

/** Walks one chain: the parts decided in it (or below it), and the clients that come back out of it. */
function walkChain(walk: Walk, chain: string, clients: AddressSet, depth: number): { decided: VerdictPart[]; returned: AddressSet } {
  const { index, family, packet, seen } = walk;
  const decided: VerdictPart[] = [];
  const entry = index.chains.get(chain) ?? { rules: [], guards: [], compiled: [] };
  const rules = entry.rules;
  let remaining = clients;
  let returned: AddressSet = [];
  for (let position = 1; position <= rules.length && remaining.length > 0; position++) {
    const saved = rules[position - 1];
    const guard = (entry.guards[position - 1] ??= ruleGuard(ruleLine(saved)));
    if (cannotMatch(guard, packet)) continue;
    const rule = (entry.compiled[position - 1] ??= compileRule(saved.tokens, family, (name) => index.chains.has(name)));
    if (seen) for (const word of rule.interfaces) seen.add(word);
    let matched = remaining;
    let unknownWords: string | undefined;
    let fails = false;
    for (const condition of rule.conditions) {
      const truth = condition.test(packet);
      if (truth === false) {
        fails = true;
        break;
      }
      if (truth === "unknown") unknownWords ??= condition.words;
      else if (truth !== true) {
        matched = intersect(matched, truth);
        if (matched.length === 0) {
          fails = true;
          break;
        }
      }
    }
    if (fails) continue;
    const decidedBy = () => ({ table: index.name, chain, position, text: ruleLine(saved) });
    const target = rule.target;
    if (unknownWords !== undefined || target.kind === "unknown") {
      const reason = unknownWords !== undefined ? `the match \`${unknownWords}\` is not understood` : (target as { reason: string }).reason;
      decided.push({ clients: matched, verdict: { kind: "unknown", decidedBy: decidedBy(), reason } });
      remaining = subtract(remaining, matched);
      continue;
    }
    switch (target.kind) {
      case "continue":
        break;
      case "accept":
      case "drop":
        decided.push({ clients: matched, verdict: { kind: target.kind, decidedBy: decidedBy() } });
        remaining = subtract(remaining, matched);
        break;
      case "dnat": {
        const port = translatedPort(target.ports, packet.destinationPort);
        const verdict: Verdict =
          port === null
            ? { kind: "unknown", decidedBy: decidedBy(), reason: `DNAT to ports ${target.ports!.first}-${target.ports!.last} of a packet for port ${String(packet.destinationPort)}: the kernel picks one of them` }
            : { kind: "dnat", address: target.address, port, decidedBy: decidedBy() };
        decided.push({ clients: matched, verdict });
        remaining = subtract(remaining, matched);
        break;
      }
      case "redirect":
        decided.push({ clients: matched, verdict: { ...target, decidedBy: decidedBy() } });
        remaining = subtract(remaining, matched);
        break;
      case "return":
        returned = union(returned, matched);
        remaining = subtract(remaining, matched);
        break;
      case "jump":
      case "goto": {
        if (depth >= MAX_DEPTH) {
          decided.push({ clients: matched, verdict: { kind: "unknown", decidedBy: decidedBy(), reason: `chains nest deeper than ${MAX_DEPTH}` } });
          remaining = subtract(remaining, matched);
          break;
        }
        const below = walkChain(walk, target.chain, matched, depth + 1);
        decided.push(...below.decided);
        remaining = subtract(remaining, matched);
        if (target.kind === "jump") remaining = union(remaining, below.returned);
        else returned = union(returned, below.returned);
        break;
      }
    }
  }
  return { decided, returned: union(returned, remaining) };
}
