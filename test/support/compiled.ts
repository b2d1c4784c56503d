import { existsSync } from "node:fs";
import * as path from "node:path";

/** The repository root: the nearest directory above this file that holds a package.json. */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/**
 * Absolute path of the `tsc` output for `relative` (a path from the repository
 * root, e.g. `"test/support/provider-bridge.js"`), whether the caller runs from
 * source (ts-jest) or from `bin/`. Throws when it has not been built yet.
 */
export function compiledPath(relative: string): string {
  const result = path.join(repoRoot(), "bin", relative);
  if (!existsSync(result)) throw new Error(`${result} is missing: build first (npx tsc -p .)`);
  return result;
}
