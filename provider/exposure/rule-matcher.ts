import type { Family } from "../family";
import type { Token } from "../iptables/tokens";
import { complement, everyAddress, parsePrefix, parseRange, union, type AddressSet } from "./address-set";
import { EPHEMERAL_PORTS, interfaceMatches, type AddressRef, type Packet, type PortRef } from "./packet";

/**
 * Compiles an iptables-save rule into conditions on a {@link Packet} and a
 * target. Every match of the flag table is understood, and the matches
 * Docker and common hosts use besides (addrtype, state, `--tcp-flags`,
 * `--sport`, `--ctstatus`-free conntrack, `-f`); anything else compiles to
 * an `unknown` condition that names it, so that a verdict never rests on a
 * guess.
 */

/**
 * What a condition says of a packet: holds, does not, cannot tell, or holds
 * exactly for the clients in a set.
 */
export type Truth = boolean | "unknown" | AddressSet;

/** One match of a rule. */
export interface Condition {
  /** The words it was read from, for messages. */
  readonly words: string;
  readonly test: (packet: Packet) => Truth;
}

/** What a rule does with a packet it matches. */
export type Target =
  | { readonly kind: "accept" | "drop" | "return" | "continue" }
  | { readonly kind: "unknown"; readonly reason: string }
  | { readonly kind: "jump" | "goto"; readonly chain: string }
  | { readonly kind: "dnat"; readonly address: string | undefined; /** The port range to translate to; `undefined` keeps the port. */ readonly ports: { readonly first: number; readonly last: number } | undefined }
  | { readonly kind: "redirect"; readonly port: number | undefined };

/** A rule ready to evaluate. */
export interface CompiledRule {
  readonly conditions: readonly Condition[];
  /** The interface words of its `-i` and `-o` matches (`eth0`, `br+`). */
  readonly interfaces: readonly string[];
  readonly target: Target;
}

/** Targets that let the packet go on to the next rule. */
const CONTINUING = new Set(["LOG", "NFLOG", "ULOG", "TRACE", "MARK", "CONNMARK", "TCPMSS", "CLASSIFY", "DSCP", "TOS", "CHECKSUM", "AUDIT"]);
/** nat targets that end the nat table's walk without dropping (the connection goes on untranslated on its way in). */
const NAT_ACCEPTING = new Set(["MASQUERADE", "SNAT", "NETMAP"]);

const PROTOCOL_NUMBERS: Readonly<Record<string, string>> = { "6": "tcp", "17": "udp", "0": "all" };

/** Compiles a rule's words (`-A CHAIN …`) for a family. `isChain` tells a user chain from an unknown target. */
export function compileRule(tokens: readonly Token[], family: Family, isChain: (name: string) => boolean): CompiledRule {
  const conditions: Condition[] = [];
  const interfaces: string[] = [];
  let target: Target = { kind: "continue" };
  let module: string | undefined;
  let negated = false;
  let i = 2;
  const word = (k: number) => tokens[k]?.text;
  const add = (words: string, test: (p: Packet) => Truth) => {
    const not = negated;
    conditions.push({ words: `${not ? "! " : ""}${words}`, test: not ? (p) => negate(test(p), family) : test });
    negated = false;
  };
  const unknown = (words: string) => add(words, () => "unknown");
  while (i < tokens.length) {
    const flag = word(i)!;
    const value = word(i + 1);
    if (flag === "!" && !tokens[i].quoted) {
      negated = true;
      i += 1;
      continue;
    }
    if (flag === "-j" || flag === "-g") {
      target = targetOf(flag, tokens.slice(i + 1).map((t) => t.text), family, isChain);
      break;
    }
    if (flag === "-m" || flag === "--match") {
      module = value;
      i += 2;
      continue;
    }
    if (["-i", "-o", "--in-interface", "--out-interface"].includes(flag) && value !== undefined) interfaces.push(value);
    const header = headerCondition(flag, value ?? "", family);
    if (header) {
      add(`${flag} ${value}`, header);
      i += 2;
      continue;
    }
    if (flag === "-f" || flag === "--fragment") {
      // The packets followed are first fragments or whole: `-f` (second and later fragments) never holds.
      add(flag, () => false);
      i += 1;
      continue;
    }
    const arity = optionArity(flag);
    const args = tokens.slice(i + 1, i + 1 + arity).map((t) => t.text);
    const test = module === undefined ? undefined : moduleCondition(module, flag, args, family);
    if (test) {
      add([flag, ...args].join(" "), test);
      i += 1 + arity;
      continue;
    }
    // Not understood: skip its words up to the next option and record it.
    let end = i + 1;
    while (end < tokens.length && !tokens[end].text.startsWith("-") && tokens[end].text !== "!") end++;
    unknown(`${module ? `-m ${module} ` : ""}${tokens.slice(i, end).map((t) => t.text).join(" ")}`);
    i = end;
  }
  return { conditions, interfaces, target };
}

function negate(truth: Truth, family: Family): Truth {
  if (truth === "unknown") return truth;
  if (typeof truth === "boolean") return !truth;
  return complement(truth, family);
}

/** How many words follow an option. */
function optionArity(flag: string): number {
  if (flag === "--syn" || flag === "--limit-iface-in" || flag === "--limit-iface-out") return 0;
  if (flag === "--tcp-flags") return 2;
  return 1;
}

/** The IP header matches: `-s -d -i -o -p`. */
function headerCondition(flag: string, value: string, family: Family): ((p: Packet) => Truth) | undefined {
  switch (flag) {
    case "-s":
    case "--source":
      return addressCondition(value, family, parsePrefix, (p) => p.source);
    case "-d":
    case "--destination":
      return addressCondition(value, family, parsePrefix, (p) => p.destination);
    case "-i":
    case "--in-interface":
      return (p) => (p.inInterface === undefined ? false : p.inInterface === null ? "unknown" : interfaceMatches(value, p.inInterface));
    case "-o":
    case "--out-interface":
      return (p) => (p.outInterface === undefined ? false : p.outInterface === null ? "unknown" : interfaceMatches(value, p.outInterface));
    case "-p":
    case "--protocol": {
      const name = PROTOCOL_NUMBERS[value] ?? value.toLowerCase();
      return (p) => name === "all" || name === p.protocol;
    }
    default:
      return undefined;
  }
}

/** A match of one module's option, or `undefined` when it is not understood. */
function moduleCondition(module: string, flag: string, args: readonly string[], family: Family): ((p: Packet) => Truth) | undefined {
  const [value = ""] = args;
  switch (`${module} ${flag}`) {
    case "tcp --dport":
    case "tcp --destination-port":
    case "udp --dport":
    case "udp --destination-port":
      return portCondition(value, ":", (p) => p.destinationPort, module);
    case "tcp --sport":
    case "tcp --source-port":
    case "udp --sport":
    case "udp --source-port":
      return portCondition(value, ":", (p) => p.sourcePort, module);
    case "tcp --syn":
      return (p) => p.protocol === "tcp" && p.tcpFlags.includes("SYN") && !p.tcpFlags.includes("ACK");
    case "tcp --tcp-flags": {
      const mask = flagList(args[0]);
      const set = flagList(args[1] ?? "");
      return (p) => p.protocol === "tcp" && mask.every((f) => p.tcpFlags.includes(f) === set.includes(f));
    }
    case "multiport --dports":
    case "multiport --destination-ports":
      return portCondition(value, ",", (p) => p.destinationPort);
    case "multiport --sports":
    case "multiport --source-ports":
      return portCondition(value, ",", (p) => p.sourcePort);
    case "multiport --ports": {
      const destination = portCondition(value, ",", (p) => p.destinationPort);
      const source = portCondition(value, ",", (p) => p.sourcePort);
      return destination && source && ((p) => either(destination(p), source(p)));
    }
    case "iprange --src-range":
      return addressCondition(value, family, parseRange, (p) => p.source);
    case "iprange --dst-range":
      return addressCondition(value, family, parseRange, (p) => p.destination);
    case "conntrack --ctstate":
    case "state --state":
      return stateCondition(value);
    case "conntrack --ctproto": {
      const name = PROTOCOL_NUMBERS[value] ?? value.toLowerCase();
      return (p) => name === "all" || name === p.protocol;
    }
    case "conntrack --ctorigsrc":
      return addressCondition(value, family, parsePrefix, (p) => p.conntrack.originalSource);
    case "conntrack --ctorigdst":
      return addressCondition(value, family, parsePrefix, (p) => p.conntrack.originalDestination);
    case "conntrack --ctreplsrc":
      return addressCondition(value, family, parsePrefix, (p) => p.conntrack.replySource);
    case "conntrack --ctrepldst":
      // No SNAT on the way in: the reply goes back to the original source.
      return addressCondition(value, family, parsePrefix, (p) => p.conntrack.originalSource);
    case "conntrack --ctorigsrcport":
      return portCondition(value, ":", (p) => p.conntrack.originalSourcePort);
    case "conntrack --ctorigdstport":
      return portCondition(value, ":", (p) => p.conntrack.originalDestinationPort);
    case "conntrack --ctreplsrcport":
      return portCondition(value, ":", (p) => p.conntrack.replySourcePort);
    case "conntrack --ctrepldstport":
      return portCondition(value, ":", (p) => p.conntrack.originalSourcePort);
    case "conntrack --ctdir":
      return (p) => p.conntrack.direction === value.toUpperCase();
    case "addrtype --src-type":
      return addressTypeCondition(value, (p) => p.source);
    case "addrtype --dst-type":
      return addressTypeCondition(value, (p) => p.destination);
    case "comment --comment":
      return () => true;
    default:
      return undefined;
  }
}

/** Either of two truths (`--ports` matches the source or the destination port). */
function either(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  if (a === false) return b;
  if (b === false) return a;
  if (a === "unknown" || b === "unknown") return "unknown";
  return union(a, b);
}

function flagList(text: string): string[] {
  const upper = text.toUpperCase();
  return upper === "ALL" ? ["FIN", "SYN", "RST", "PSH", "ACK", "URG"] : upper === "NONE" ? [] : upper.split(",");
}

/**
 * An address match on one of the packet's addresses: a set of clients when
 * it is the client's, a boolean when it is known, and, for a host address
 * the caller did not name, true only for a prefix that holds every address
 * (the host's address is assumed to be none that a rule names).
 */
function addressCondition(value: string, family: Family, parse: (text: string, family: Family) => AddressSet | undefined, which: (p: Packet) => AddressRef): ((p: Packet) => Truth) | undefined {
  let set: AddressSet = [];
  for (const part of value.split(",")) {
    const parsed = parse(part, family);
    if (!parsed) return undefined;
    set = union(set, parsed);
  }
  const all = everyAddress(family)[0];
  const everything = set.length === 1 && set[0].first === all.first && set[0].last === all.last;
  return (p) => {
    const ref = which(p);
    if (ref.kind === "client") return set;
    if (ref.kind === "host") return everything;
    return set.some((r) => r.first <= ref.value && ref.value <= r.last);
  };
}

/** `--dport 80`, `--dport 1000:2000`, `--dports 80,443,8000:8010`. */
function portCondition(value: string, separator: string, which: (p: Packet) => PortRef, protocol?: string): ((p: Packet) => Truth) | undefined {
  const ranges: [number, number][] = [];
  for (const part of separator === "," ? value.split(",") : [value]) {
    const [a, b = a] = part.split(":");
    const first = a === "" ? 0 : Number(a);
    const last = b === "" ? 65535 : Number(b);
    if (!Number.isInteger(first) || !Number.isInteger(last)) return undefined;
    ranges.push([first, last]);
  }
  return (p) => {
    if (protocol !== undefined && p.protocol !== protocol) return false;
    const port = which(p);
    if (port !== "ephemeral") return ranges.some(([a, b]) => a <= port && port <= b);
    if (ranges.some(([a, b]) => a <= EPHEMERAL_PORTS.first && EPHEMERAL_PORTS.last <= b)) return true;
    if (ranges.every(([a, b]) => b < EPHEMERAL_PORTS.first || a > EPHEMERAL_PORTS.last)) return false;
    return "unknown";
  };
}

/** `--ctstate NEW,ESTABLISHED,DNAT` (or `--state`): holds when any listed state does. */
function stateCondition(value: string): (p: Packet) => Truth {
  const states = value.toUpperCase().split(",");
  return (p) => {
    if (p.conntrack.state === "unknown") return "unknown";
    return states.some((s) => s === p.conntrack.state || (s === "DNAT" && p.conntrack.dnat));
  };
}

/**
 * `--dst-type LOCAL` and the like: the host's own addresses are LOCAL and
 * UNICAST; clients and containers are UNICAST only (clients are taken to be
 * other machines). No address followed is of another type.
 */
function addressTypeCondition(value: string, which: (p: Packet) => AddressRef): (p: Packet) => Truth {
  const types = value.toUpperCase().split(",");
  return (p) => {
    const ref = which(p);
    const local = ref.kind === "host" || (ref.kind === "fixed" && ref.local);
    return types.some((t) => t === "UNICAST" || (t === "LOCAL" && local));
  };
}

/** A rule's `-j`/`-g` target and its options. */
function targetOf(flag: string, words: readonly string[], family: Family, isChain: (name: string) => boolean): Target {
  const [name = "", ...options] = words;
  if (flag === "-g") return isChain(name) ? { kind: "goto", chain: name } : { kind: "unknown", reason: `goto to a missing chain ${name}` };
  if (name === "ACCEPT") return { kind: "accept" };
  if (name === "DROP" || name === "REJECT") return { kind: "drop" };
  if (name === "RETURN") return { kind: "return" };
  if (CONTINUING.has(name)) return { kind: "continue" };
  if (NAT_ACCEPTING.has(name)) return { kind: "accept" };
  if (name === "DNAT") {
    const to = options[options.indexOf("--to-destination") + 1];
    const parsed = to === undefined ? undefined : dnatDestination(to, family);
    return parsed ? { kind: "dnat", ...parsed } : { kind: "unknown", reason: `DNAT to ${to ?? "?"} (address ranges are not followed)` };
  }
  if (name === "REDIRECT") {
    const to = options[options.indexOf("--to-ports") + 1];
    if (to !== undefined && !/^\d+$/.test(to)) return { kind: "unknown", reason: `REDIRECT to ports ${to} (ranges are not followed)` };
    return { kind: "redirect", port: to === undefined ? undefined : Number(to) };
  }
  if (isChain(name)) return { kind: "jump", chain: name };
  return { kind: "unknown", reason: `target ${name} is not understood` };
}

/** `172.17.0.2:80`, `172.17.0.2:8000-8010`, `172.17.0.2`, `:80`, `[2001:db8::2]:80`, `2001:db8::2`; `undefined` for address ranges. */
function dnatDestination(to: string, family: Family): { address: string | undefined; ports: { first: number; last: number } | undefined } | undefined {
  const m = family === "ipv6" && !to.startsWith("[") ? /^([^-]*)()()$/.exec(to) : /^\[?([^\]:-]*|[^\]-]*(?=\]))\]?(?::(\d+)(?:-(\d+))?)?$/.exec(to);
  if (!m) return undefined;
  const first = m[2] === undefined || m[2] === "" ? undefined : Number(m[2]);
  return { address: m[1] === "" ? undefined : m[1], ports: first === undefined ? undefined : { first, last: m[3] === undefined || m[3] === "" ? first : Number(m[3]) } };
}
