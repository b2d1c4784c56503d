/**
 * A JSON object file edited in place: parsing that names the line of a
 * syntax error, and edits of top-level members that leave every other byte
 * of the text as it was (other members, their order and values, whitespace,
 * indentation, the final newline). A changed member keeps its key and its
 * place; only its value's text is replaced. A new member goes after the last
 * one, with the separator and indentation the file already uses (two spaces
 * in an empty object). A removed member takes its comma and the whitespace
 * before it along. JSON has no comments, so there are none to keep.
 */

/** One top-level member of the object, as offsets into the text. */
export interface Member {
  /** The key, unescaped. */
  readonly key: string;
  /** Offset of the key's opening quote. */
  readonly keyStart: number;
  /** Offset just past the key's closing quote. */
  readonly keyEnd: number;
  /** Offset of the value's first character. */
  readonly valueStart: number;
  /** Offset just past the value's last character. */
  readonly valueEnd: number;
  /** The 1-based line the key is on. */
  readonly line: number;
}

/** A parsed JSON object file: its text, its top-level members and their values. */
export interface JsonDocument {
  readonly text: string;
  /** Offset of the object's `{`. */
  readonly open: number;
  /** Offset of the object's `}`. */
  readonly close: number;
  readonly members: readonly Member[];
  /** The parsed value of every top-level member. */
  readonly values: Readonly<Record<string, unknown>>;
}

/** A file that is not a JSON object (or holds a key twice), with the 1-based line where that shows. */
export class JsonSyntaxError extends Error {
  override readonly name = "JsonSyntaxError";

  /**
   * @param line the 1-based line of the problem
   * @param reason what is wrong there
   */
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/**
 * Parses a JSON object file. A file holding only whitespace reads as an
 * empty object (as dockerd reads it). A key given twice is refused: JSON
 * leaves the winner undefined, and an edit would change only one of them.
 * @throws JsonSyntaxError naming the line of the first problem
 */
export function parseJsonDocument(text: string): JsonDocument {
  if (text.trim() === "") return { text: "{}\n", open: 0, close: 1, members: [], values: {} };
  const scanner = new Scanner(text);
  scanner.skipSpace();
  if (text[scanner.pos] !== "{") scanner.fail("the file must hold one JSON object ({ … })");
  const open = scanner.pos;
  const members = scanner.object(true);
  const close = scanner.pos - 1;
  scanner.skipSpace();
  if (scanner.pos < text.length) scanner.fail("unexpected text after the object");
  const values: Record<string, unknown> = {};
  const seen = new Map<string, number>();
  for (const m of members) {
    const first = seen.get(m.key);
    if (first !== undefined) throw new JsonSyntaxError(m.line, `key "${m.key}" appears a second time (first on line ${first})`);
    seen.set(m.key, m.line);
    values[m.key] = JSON.parse(text.slice(m.valueStart, m.valueEnd));
  }
  return { text, open, close, members, values };
}

/**
 * The text with a top-level member set to `value` (added when missing), or
 * removed when `value` is `undefined`; every other byte stays.
 */
export function setMember(doc: JsonDocument, key: string, value: unknown): string {
  const { text, members } = doc;
  const index = members.findIndex((m) => m.key === key);
  const rendered = value === undefined ? undefined : JSON.stringify(value);
  if (index >= 0) {
    const m = members[index];
    if (rendered !== undefined) return text.slice(0, m.valueStart) + rendered + text.slice(m.valueEnd);
    // Remove with the comma before it (or, for the first member, up to the next member's key).
    if (index > 0) return text.slice(0, members[index - 1].valueEnd) + text.slice(m.valueEnd);
    if (members.length > 1) return text.slice(0, m.keyStart) + text.slice(members[1].keyStart);
    return text.slice(0, doc.open + 1) + text.slice(doc.close);
  }
  if (rendered === undefined) return text;
  if (members.length === 0) return `${text.slice(0, doc.open)}{\n  ${JSON.stringify(key)}: ${rendered}\n}${text.slice(doc.close + 1)}`;
  const last = members[members.length - 1];
  const before = members.length > 1 ? members[members.length - 2].valueEnd : doc.open + 1;
  // The whitespace between the previous member (after its comma) or `{` and the last key: a newline and indentation, or a space.
  const gap = text.slice(before, last.keyStart).replace(/^,/, "") || " ";
  const colon = text.slice(last.keyEnd, last.valueStart);
  return `${text.slice(0, last.valueEnd)},${gap}${JSON.stringify(key)}${colon}${rendered}${text.slice(last.valueEnd)}`;
}

/** The text with several members set or removed (see {@link setMember}), one after the other. */
export function setMembers(text: string, changes: Readonly<Record<string, unknown>>): string {
  let out = text;
  for (const [key, value] of Object.entries(changes)) out = setMember(parseJsonDocument(out), key, value);
  return out;
}

/** A recursive-descent scanner of JSON (RFC 8259), recording the top-level object's members. */
class Scanner {
  pos = 0;

  constructor(private readonly text: string) {}

  fail(reason: string): never {
    const line = this.text.slice(0, this.pos).split("\n").length;
    throw new JsonSyntaxError(line, reason);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && " \t\n\r".includes(this.text[this.pos])) this.pos++;
  }

  value(): void {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === "{") this.object(false);
    else if (c === "[") this.array();
    else if (c === '"') this.string();
    else if (c === "-" || (c >= "0" && c <= "9")) this.number();
    else {
      const word = ["true", "false", "null"].find((w) => this.text.startsWith(w, this.pos));
      if (!word) this.fail(c === undefined ? "the file ends where a value was expected" : `unexpected ${JSON.stringify(c)} where a value was expected`);
      this.pos += word.length;
    }
  }

  /** Scans an object at `pos`; returns its members when `record` (the top level). */
  object(record: boolean): Member[] {
    const members: Member[] = [];
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return members;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === "}" && members.length + (record ? 0 : 1) > 0) this.fail("a trailing comma before '}'");
      if (this.text[this.pos] !== '"') this.fail("expected a double-quoted key");
      const keyStart = this.pos;
      const line = this.text.slice(0, keyStart).split("\n").length;
      this.string();
      const keyEnd = this.pos;
      this.skipSpace();
      if (this.text[this.pos] !== ":") this.fail("expected ':' after the key");
      this.pos++;
      this.skipSpace();
      const valueStart = this.pos;
      this.value();
      if (record) members.push({ key: JSON.parse(this.text.slice(keyStart, keyEnd)) as string, keyStart, keyEnd, valueStart, valueEnd: this.pos, line });
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === "}") return members;
      if (c !== ",") {
        this.pos--;
        this.fail("expected ',' or '}': a missing comma?");
      }
    }
  }

  array(): void {
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return;
    }
    for (;;) {
      this.value();
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === "]") return;
      if (c !== ",") {
        this.pos--;
        this.fail("expected ',' or ']'");
      }
    }
  }

  string(): void {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(this.text.slice(this.pos));
    if (!m) this.fail("unterminated or invalid string");
    this.pos += m[0].length;
  }

  number(): void {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.pos));
    if (!m) this.fail("invalid number");
    this.pos += m[0].length;
  }
}
