import { SaveParseError } from "../errors";

/** One word of an `iptables-save` rule line. */
export interface Token {
  /** The word with quotes and escapes removed. */
  readonly text: string;
  /** Whether iptables-save printed it in double quotes. */
  readonly quoted: boolean;
  /**
   * The word exactly as printed, quotes and escapes included. Extensions
   * escape differently (`--comment` escapes `'`, `--string` does not), so a
   * rule read from a host is printed back from this, byte for byte.
   */
  readonly raw?: string;
}

/** Characters iptables-save prints without quotes (libxtables `xtables_save_string`). */
const NO_QUOTE = /^[A-Za-z0-9_-]+$/;
/** Characters it escapes with a backslash inside quotes. */
const ESCAPED = /["\\']/g;

/**
 * Prints a string argument (a comment, a log prefix) exactly as
 * `iptables-save` does: bare when it is made only of letters, digits, `_`
 * and `-`, otherwise in double quotes with `"`, `\` and `'` escaped.
 */
export function saveString(value: string): string {
  return NO_QUOTE.test(value) ? value : `"${value.replace(ESCAPED, (c) => `\\${c}`)}"`;
}

/**
 * Splits a rule line into words, honouring the double quotes and backslash
 * escapes `iptables-save` uses for string arguments.
 * @param lineNumber used in the error when a quote is left open
 */
export function tokenize(line: string, lineNumber = 0): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === " ") {
      i += 1;
      continue;
    }
    if (line[i] === '"') {
      const start = i;
      const end = closingQuote(line, i);
      if (end < 0) throw new SaveParseError(lineNumber, line, "unterminated quoted string");
      const raw = line.slice(start, end + 1);
      tokens.push({ text: raw.includes("\\") ? raw.slice(1, -1).replace(BACKSLASHED, "$1") : raw.slice(1, -1), quoted: true, raw });
      i = end + 1;
      continue;
    }
    const end = line.indexOf(" ", i);
    const stop = end === -1 ? line.length : end;
    tokens.push({ text: line.slice(i, stop), quoted: false });
    i = stop;
  }
  return tokens;
}

/** A backslash and the character it escapes. */
const BACKSLASHED = /\\(.)/gs;

/**
 * The index of the quote that closes the string opened at `open` (a
 * backslash escapes the character after it), or -1 when the line ends first.
 */
export function closingQuote(line: string, open: number): number {
  for (let i = open + 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x22) return i;
    if (c === 0x5c && i + 1 < line.length) i += 1;
  }
  return -1;
}

/** Joins words back into a line: as they were printed, or quoted the way iptables-save quotes strings. */
export function renderTokens(tokens: readonly Token[]): string {
  return tokens.map((t) => t.raw ?? (t.quoted ? `"${t.text.replace(ESCAPED, (c) => `\\${c}`)}"` : t.text)).join(" ");
}
