import { z } from "zod";
import { parseAddress, parseRange } from "./address";
import { quote } from "./quote";

/**
 * Validators for the string and number fields users give. Every string that
 * can reach a host passes one of these first; each rejects anything outside
 * a small, safe alphabet, so no shell or iptables metacharacter gets through.
 * Every string and list has a maximum size, checked before anything else
 * looks at it, and messages quote at most the start of a value
 * (`./quote.ts`), so oversized input costs one short message.
 */

/** Strips a leading `!` (negation). */
export function splitNegation(text: string): { negated: boolean; body: string } {
  return text.startsWith("!") ? { negated: true, body: text.slice(1).trimStart() } : { negated: false, body: text };
}

/**
 * A string of at most `max` characters. A longer one gets this one issue
 * (`<what> is at most <max> characters`) and no later check looks at it.
 */
export function boundedString(max: number, what: string) {
  return z.string().max(max, { error: `${what} is at most ${max} characters`, abort: true });
}

/**
 * Lets through anything but a list longer than `max`, which gets this one
 * issue; pipe it into the list's schema, so an oversized list is refused
 * before any of its items is looked at.
 */
export function itemLimit(max: number, message: string) {
  return z.unknown().refine((value) => !Array.isArray(value) || value.length <= max, { error: message, abort: true });
}

/** An address or CIDR network without host bits set; a leading `!` negates (but not of a `/0`, which would match nothing). */
export const addressField = boundedString(64, "an address").superRefine((text, ctx) => {
  const { negated, body } = splitNegation(text);
  const parsed = parseAddress(body);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
  else if (negated && parsed.prefix === 0) ctx.addIssue({ code: "custom", message: `${quote(text)} matches nothing` });
});

/** An iprange `first-last`; a leading `!` negates. */
export const rangeField = boundedString(100, "an address range").superRefine((text, ctx) => {
  const parsed = parseRange(splitNegation(text).body);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
});

/** Characters allowed in an interface name: a subset of what the kernel allows, without `/`, `:`, whitespace or any shell metacharacter. */
const INTERFACE_ALPHABET = /^[A-Za-z0-9_.-]+$/;

/**
 * A Linux interface name as the kernel takes it (1–15 bytes, not `.` or
 * `..`) from a safe alphabet (letters, digits, `_`, `.`, `-`), not starting
 * with `-` (iptables would read it as an option), and `+` only at the end, as
 * iptables' wildcard; a leading `!` negates. The 15-byte limit is this
 * field's maximum size.
 */
export const interfaceField = z.string().superRefine((text, ctx) => {
  const name = splitNegation(text).body;
  const problem = interfaceProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: `interface name ${quote(name)} ${problem}` });
});

/** What is wrong with an interface name, completing "interface name "…" ", or `undefined` when nothing is. */
function interfaceProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name);
  const stem = name.endsWith("+") ? name.slice(0, -1) : name;
  if (bytes < 1 || bytes > 15) return "must be 1–15 characters long";
  if (name === "." || name === "..") return 'is not allowed: the kernel reserves "." and ".."';
  if (name.startsWith("-")) return 'must not start with "-": iptables would read it as an option';
  if (stem === "") return "matches every interface: leave the field out instead";
  if (stem.includes("+")) return 'may have "+" only at the end, as a wildcard';
  if (!INTERFACE_ALPHABET.test(stem)) return 'may contain only letters, digits, "_", "." and "-", with an optional trailing "+"';
  return undefined;
}

const PORT_MESSAGE = "a port is a whole number from 1 to 65535";

/** A TCP/UDP port number. */
export const portNumber = z.number({ error: PORT_MESSAGE }).int(PORT_MESSAGE).min(1, PORT_MESSAGE).max(65535, PORT_MESSAGE);

/** A port (`8080` or `"8080"`) or an inclusive range `"8000:8010"`; a string's format is its maximum size. */
export const portOrRange = z.union([
  portNumber,
  z.string().superRefine((text, ctx) => {
    const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(text);
    const [a, b] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
    if (!(a >= 1 && a <= 65535 && b >= 1 && b <= 65535)) ctx.addIssue({ code: "custom", message: `${quote(text)} is not a port (1–65535) or a range like "8000:8010"` });
    else if (a > b) ctx.addIssue({ code: "custom", message: `port range ${quote(text)} starts after it ends` });
  }),
], { error: 'expected a port number or a range like "8000:8010"' });

const PORTS_MESSAGE = "at most 15 ports in a list (a range counts as two)";

/** One port or range, or a list of up to 15 (ranges count twice), matched with multiport. */
export const portsField = itemLimit(15, PORTS_MESSAGE).pipe(
  z.union([portOrRange, z.array(portOrRange).min(1)]).superRefine((value, ctx) => {
    if (Array.isArray(value) && value.reduce<number>((n, p) => n + (String(p).includes(":") ? 2 : 1), 0) > 15) {
      ctx.addIssue({ code: "custom", message: PORTS_MESSAGE });
    }
  }),
);

/** Characters allowed in a user comment. */
const COMMENT_ALPHABET = /^[A-Za-z0-9 .,:/_+=@%#-]*$/;

/** A free-text comment kept in the rule; a safe alphabet, no quotes, newlines or shell metacharacters. */
export const commentField = boundedString(128, "a comment").regex(
  COMMENT_ALPHABET,
  "a comment may contain only letters, digits, spaces and . , : / _ + = @ % # -",
);

/** Conntrack states, in the order iptables prints them. */
export const CT_STATES = ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"] as const;

/** A list of conntrack states, each at most once. */
export const ctstateField = itemLimit(CT_STATES.length, `at most the ${CT_STATES.length} conntrack states, each once`).pipe(
  z.array(z.enum(CT_STATES)).min(1).superRefine((states, ctx) => {
    states.forEach((state, i) => {
      if (states.indexOf(state) !== i) ctx.addIssue({ code: "custom", path: [i], message: `${quote(state)} is already in the list` });
    });
  }),
);

/** Which iptables variant to drive on the host. */
export const backendField = z.enum(["auto", "nft", "legacy"]);
