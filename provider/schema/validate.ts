import { z } from "zod";
import { ValidationError, type ValidationIssue } from "../errors";
import { closestKey } from "./closest-key";
import { quote } from "./quote";

/** The value Pulumi passes for an input that is not known yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether a value is, or contains, a not-yet-known input. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/**
 * Validates input against a schema and returns every problem with its
 * property path. Problems in properties whose value is not known yet are
 * left out: they are checked again once the value is known. An unknown key
 * is reported whatever its value.
 */
export function findIssues(schema: z.ZodType, input: Record<string, unknown>): ValidationIssue[] {
  return [...validate(schema, input).issues];
}

/** What {@link validate} found: the parsed value when the input passed, else the problems to report. */
export type Validation<T> = { readonly value: T; readonly issues: readonly [] } | { readonly value?: undefined; readonly issues: readonly ValidationIssue[] };

/**
 * Validates input once: its parsed value when it passes, else every problem
 * {@link findIssues} reports (no problem, and no value, when the only ones
 * are in values not known yet). For a `check` that needs both.
 */
export function validate<T>(schema: z.ZodType<T>, input: Record<string, unknown>): Validation<T> {
  const result = schema.safeParse(input);
  if (result.success) return { value: result.data, issues: [] };
  const reportable = result.error.issues.filter((i) => i.code === "unrecognized_keys" || !(i.path.length > 0 && containsUnknown(input[String(i.path[0])])));
  return { issues: toIssues(schema, reportable) };
}

/** Parses input or throws a `ValidationError` listing every problem. */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(toIssues(schema, result.error.issues));
}

/** zod's issues as ours; an unknown key becomes one issue at that key's own path, naming the key it most likely meant. */
function toIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.flatMap((i) => {
    const path = i.path.map((p) => (typeof p === "number" ? p : String(p)));
    if (i.code !== "unrecognized_keys") return [{ path, message: i.message }];
    const known = keysAt(schema, path).filter((k) => !k.startsWith("__")); // engine keys are never what a user meant
    return i.keys.map((key) => {
      const suggestion = closestKey(key, known);
      return { path: [...path, key], message: `unknown property ${quote(key)}${suggestion === undefined ? "" : `; did you mean ${quote(suggestion)}?`}` };
    });
  });
}

/** The keys the object schema at `path` declares, or none when there is no object there. */
function keysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let at = required(schema);
  for (const key of path) at = at instanceof z.ZodObject ? required((at.shape as Record<string, z.ZodType | undefined>)[key]) : undefined;
  return at instanceof z.ZodObject ? Object.keys(at.shape) : [];
}

/** A schema without its `.optional()` wrappers. */
function required(schema: z.ZodType | undefined): z.ZodType | undefined {
  return schema instanceof z.ZodOptional ? required(schema.unwrap() as z.ZodType) : schema;
}
