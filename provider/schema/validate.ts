import type { z } from "zod";
import { ValidationError, type ValidationIssue } from "../errors";

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
 * left out: they are checked again once the value is known.
 */
export function findIssues(schema: z.ZodType, input: Record<string, unknown>): ValidationIssue[] {
  const result = schema.safeParse(input);
  if (result.success) return [];
  return toIssues(result.error.issues).filter((i) => !(i.path.length > 0 && containsUnknown(input[String(i.path[0])])));
}

/** Parses input or throws a `ValidationError` listing every problem. */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(toIssues(result.error.issues));
}

/** zod's issues as ours; an unknown key becomes one issue at that key's own path. */
function toIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.flatMap((i) => {
    const path = i.path.map((p) => (typeof p === "number" ? p : String(p)));
    if (i.code === "unrecognized_keys") return i.keys.map((key) => ({ path: [...path, key], message: `unknown property "${key}"` }));
    return [{ path, message: i.message }];
  });
}
