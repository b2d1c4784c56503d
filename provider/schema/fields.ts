import { z } from "zod";
import { parseAddress, parseRange } from "./address";
import { quote } from "./quote";

/**
 * Validators for the string and number fields users give. Every string that
 * can reach a host passes one of these first; each rejects anything outside
 * a small, safe alphabet, so no shell or iptables metacharacter gets through.
 */

/** Strips a leading `!` (negation). */
export function splitNegation(text: string): { negated: boolean; body: string } {
  return text.startsWith("!") ? { negated: true, body: text.slice(1).trimStart() } : { negated: false, body: text };
}

/** An address or CIDR network; a leading `!` negates (but not of a `/0`, which would match nothing). */
export const addressField = z.string().superRefine((text, ctx) => {
  const { negated, body } = splitNegation(text);
  const parsed = parseAddress(body);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
  else if (negated && parsed.prefix === 0) ctx.addIssue({ code: "custom", message: `"${text}" matches nothing` });
});

/** An iprange `first-last`; a leading `!` negates. */
export const rangeField = z.string().superRefine((text, ctx) => {
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

/** A port (`8080` or `"8080"`) or an inclusive range `"8000:8010"`. */
export const portOrRange = z.union([
  portNumber,
  z.string().superRefine((text, ctx) => {
    const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(text);
    const [a, b] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
    if (!(a >= 1 && a <= 65535 && b >= 1 && b <= 65535)) ctx.addIssue({ code: "custom", message: `"${text}" is not a port (1–65535) or a range like "8000:8010"` });
    else if (a > b) ctx.addIssue({ code: "custom", message: `port range "${text}" starts after it ends` });
  }),
], { error: 'expected a port number or a range like "8000:8010"' });

/** One port or range, or a list of up to 15 (ranges count twice), matched with multiport. */
export const portsField = z.union([portOrRange, z.array(portOrRange).min(1).max(15)]).superRefine((value, ctx) => {
  if (Array.isArray(value) && value.reduce<number>((n, p) => n + (String(p).includes(":") ? 2 : 1), 0) > 15) {
    ctx.addIssue({ code: "custom", message: "at most 15 ports in a list (a range counts as two)" });
  }
});

/** Characters allowed in a user comment. */
const COMMENT_ALPHABET = /^[A-Za-z0-9 .,:/_+=@%#-]*$/;

/** A free-text comment kept in the rule; a safe alphabet, no quotes, newlines or shell metacharacters. */
export const commentField = z
  .string()
  .max(128, "a comment is at most 128 characters")
  .regex(COMMENT_ALPHABET, 'a comment may contain only letters, digits, spaces and . , : / _ + = @ % # -');

/** Conntrack states, in the order iptables prints them. */
export const CT_STATES = ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"] as const;

/** A list of conntrack states. */
export const ctstateField = z.array(z.enum(CT_STATES)).min(1);

/** Which iptables variant to drive on the host. */
export const backendField = z.enum(["auto", "nft", "legacy"]);
