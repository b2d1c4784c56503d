import { DaemonFileError } from "./daemon-file-error";
import { keyOf } from "./daemon-keys";
import { JsonSyntaxError, parseJsonDocument, setMembers, type JsonDocument } from "./json-document";
import type { DaemonFile } from "./daemon-state";

/**
 * The file as a JSON document we may edit: a missing file reads as an empty
 * object; one that is not a JSON object, or that holds one of `keys` with a
 * value of the wrong type for dockerd, is refused.
 * @throws DaemonFileError naming the file and the line
 */
export function editableDocument(file: DaemonFile, keys: readonly string[], host: string, path: string): JsonDocument {
  let doc: JsonDocument;
  try {
    doc = parseJsonDocument(file.exists ? file.text : "");
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new DaemonFileError(host, path, error.line, `not valid JSON: ${error.reason}`);
    throw error;
  }
  for (const key of keys) {
    const value = doc.values[key];
    const type = keyOf(key)?.type;
    if (value === undefined || type === undefined || typeof value === type) continue;
    const member = doc.members.find((m) => m.key === key)!;
    throw new DaemonFileError(host, path, member.line, `"${key}" holds ${JSON.stringify(value)} (${value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`}); dockerd expects a ${type}`);
  }
  return doc;
}

/**
 * The file's text with `changes` made (a value sets the key; `null` removes
 * it), or `undefined` when every key already holds what it should.
 */
export function editedText(doc: JsonDocument, changes: Readonly<Record<string, unknown>>): string | undefined {
  const needed = Object.fromEntries(Object.entries(changes).filter(([k, v]) => doc.values[k] !== (v ?? undefined)).map(([k, v]) => [k, v ?? undefined]));
  return Object.keys(needed).length === 0 ? undefined : setMembers(doc.text, needed);
}
