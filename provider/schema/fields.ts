import { z } from "zod";
import { parseAddress, parseRange } from "./address";

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

/** A Linux interface name (1–15 characters, `+` as a trailing wildcard); a leading `!` negates. */
export const interfaceField = z.string().superRefine((text, ctx) => {
  const name = splitNegation(text).body;
  if (name.length < 1 || name.length > 15) ctx.addIssue({ code: "custom", message: `interface name "${name}" must be 1–15 characters long` });
  else if (!/^[A-Za-z0-9_.-]+\+?$/.test(name) || name === "." || name === "..") {
    ctx.addIssue({ code: "custom", message: `interface name "${name}" may contain only letters, digits, "_", "." and "-", with an optional trailing "+"` });
  }
});

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
