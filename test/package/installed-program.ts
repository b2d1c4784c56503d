import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { promisify } from "node:util";

/**
 * The package as a user gets it: packed from a clean checkout, then
 * installed with npm into an empty Pulumi program of its own (as `pulumi new
 * typescript` makes one), offline. The program's dependencies are copied
 * beforehand from this repository's `node_modules` (only what the lockfile
 * says they need), so npm finds every dependency satisfied and reaches
 * neither the registry nor a cache.
 */

/** The repository root: the nearest directory above this file with a package.json (this file also runs compiled, from `bin/`). */
export const REPO = ((dir: string): string => {
  while (!existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
})(__dirname);

/** One entry of `package-lock.json`'s `packages`. */
interface LockEntry {
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
  readonly bin?: Readonly<Record<string, string>>;
}

/** Runs a command (for at most 2 minutes) and resolves its stdout; rejects with its stderr. */
export async function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  try {
    const result = await promisify(execFile)(command, [...args], { cwd: options.cwd, env: options.env ?? process.env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    return result.stdout;
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    throw new Error(`\`${command} ${args.join(" ")}\` in ${options.cwd} failed (${failed.code}):\n${failed.stderr ?? ""}\n${failed.stdout ?? ""}`);
  }
}

/** The environment without npm's `npm_*` variables (set when jest runs under npm/npx), so the npm we start reads only our flags. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")));
}

/**
 * The lockfile paths (`node_modules/…`) of `roots` and of everything they
 * need at run time (dependencies, optional dependencies, required peers),
 * found the way Node resolves: nested first, then each enclosing
 * `node_modules`.
 */
async function closure(roots: readonly string[]): Promise<[string, LockEntry][]> {
  const lock = JSON.parse(await readFile(path.join(REPO, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const resolve = (from: string, name: string): string => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(dir.lastIndexOf("/node_modules/"), 0))) {
      const candidate = `${dir === "" ? "" : `${dir}/`}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (dir === "") throw new Error(`${name} (needed by ${from || "the program"}) is not in package-lock.json`);
    }
  };
  const found = new Set<string>();
  const queue = roots.map((name) => resolve("", name));
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (found.has(next)) continue;
    found.add(next);
    const entry = lock.packages[next];
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((name) => !entry.peerDependenciesMeta?.[name]?.optional);
    for (const name of [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...peers]) {
      queue.push(resolve(next, name));
    }
  }
  return [...found].sort().map((entry) => [entry, lock.packages[entry]]);
}

/** What `npm pack --json` reports for the tarball. */
export interface Packed {
  /** The tarball's file name. */
  readonly filename: string;
  /** Its size in bytes. */
  readonly size: number;
  /** The size of its contents in bytes. */
  readonly unpackedSize: number;
  /** Each file it holds, with its path in the package. */
  readonly files: readonly { readonly path: string; readonly size: number }[];
}

/**
 * `npm pack` of a clean checkout: the files git tracks or would track
 * (ignored ones such as `bin/` left out, uncommitted changes included) are
 * copied to `dir/checkout`, with this repository's `node_modules` linked in
 * for the build tools, so `prepare` builds `bin/` from nothing, as for a git
 * dependency, and this repository's `bin/` is left alone. The tarball goes
 * into `dir`.
 */
export async function packCleanCheckout(dir: string): Promise<Packed> {
  const checkout = path.join(dir, "checkout");
  const listed = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO });
  for (const file of listed.split("\0").filter((f) => f !== "" && existsSync(path.join(REPO, f)))) {
    await cp(path.join(REPO, file), path.join(checkout, file), { verbatimSymlinks: true });
  }
  await symlink(path.join(REPO, "node_modules"), path.join(checkout, "node_modules"));
  const [packed] = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: checkout, env: cleanEnv() })) as Packed[];
  return packed;
}

/** What goes into the program besides its `index.ts`. */
export interface ProgramOptions {
  /** Pulumi project name (`Pulumi.yaml`, `package.json`). */
  readonly project: string;
  /** The program's `index.ts`. */
  readonly indexTs: string;
  /**
   * TypeScript files, by name, that are only type-checked, with the template's
   * options plus `esModuleInterop` (`tsconfig.checks.json`). @default {}
   */
  readonly typeChecks?: Readonly<Record<string, string>>;
}

/**
 * Writes a Pulumi TypeScript program into `dir` (`Pulumi.yaml`,
 * `package.json` depending on `@pulumi/pulumi`, with `@types/node` as a dev
 * dependency, and the `tsconfig.json` of Pulumi's template), and copies into
 * its `node_modules` the repository's copies of `@pulumi/pulumi`,
 * `@types/node` and `extraDependencies`, each with what it needs. TypeScript
 * is not installed there: {@link compileProgram} uses the repository's.
 */
export async function writeProgram(dir: string, options: ProgramOptions, extraDependencies: readonly string[]): Promise<void> {
  const repoPackage = JSON.parse(await readFile(path.join(REPO, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "Pulumi.yaml"), `name: ${options.project}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`);
  const manifest = {
    name: options.project,
    private: true,
    main: "index.js",
    dependencies: { "@pulumi/pulumi": repoPackage.devDependencies["@pulumi/pulumi"] },
    devDependencies: { "@types/node": repoPackage.devDependencies["@types/node"] },
  };
  await writeFile(path.join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const compilerOptions = {
    strict: true,
    target: "es2020",
    module: "commonjs",
    moduleResolution: "node",
    sourceMap: true,
    experimentalDecorators: true,
    pretty: true,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
  };
  await writeFile(path.join(dir, "tsconfig.json"), `${JSON.stringify({ compilerOptions, files: ["index.ts"] }, null, 2)}\n`);
  const checks = options.typeChecks ?? {};
  const checksConfig = { extends: "./tsconfig.json", compilerOptions: { esModuleInterop: true, noEmit: true }, files: Object.keys(checks) };
  await writeFile(path.join(dir, "tsconfig.checks.json"), `${JSON.stringify(checksConfig, null, 2)}\n`);
  for (const [name, text] of Object.entries({ "index.ts": options.indexTs, ...checks })) await writeFile(path.join(dir, name), text);
  // Each package with the links npm made for its commands: without them, npm would reinstall it.
  for (const [entry, { bin }] of await closure(["@pulumi/pulumi", "@types/node", ...extraDependencies])) {
    await cp(path.join(REPO, entry), path.join(dir, entry), { recursive: true, verbatimSymlinks: true });
    const binDir = path.join(entry.slice(0, entry.lastIndexOf("node_modules/") + "node_modules/".length), ".bin");
    for (const command of Object.keys(bin ?? {})) {
      await cp(path.join(REPO, binDir, command), path.join(dir, binDir, command), { verbatimSymlinks: true });
    }
  }
}

/**
 * `npm install --offline <tarball>` in the program, with an empty npm cache
 * of its own under `cacheDir`: anything npm would have to fetch fails the
 * install instead of coming from the registry or this machine's cache.
 *
 * With `--legacy-peer-deps`: npm checks the peers of a package it adds
 * against the registry's metadata even when the installed copy satisfies
 * them, which offline and without a cache fails (ERESOLVE). Peers are then
 * checked by `npm ls`, which reports a peer out of range as invalid.
 */
export async function installTarball(dir: string, tarball: string, cacheDir: string): Promise<void> {
  await run("npm", ["install", ...npmFlags(cacheDir), "--legacy-peer-deps", tarball], { cwd: dir, env: cleanEnv() });
}

/** Flags that keep npm offline, quiet, and on the cache in `cacheDir`. */
export function npmFlags(cacheDir: string): string[] {
  return ["--offline", "--no-audit", "--no-fund", "--cache", cacheDir, "--loglevel", "error"];
}

/**
 * Runs this repository's TypeScript on a project of the program:
 * `tsconfig.json` (compiles `index.ts` to `index.js`) or
 * `tsconfig.checks.json`; `extraArgs` e.g. `--module node16 --moduleResolution node16`.
 */
export async function compileProgram(dir: string, project: "tsconfig.json" | "tsconfig.checks.json", extraArgs: readonly string[] = []): Promise<void> {
  await run(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(dir, project), "--pretty", "false", ...extraArgs], { cwd: dir });
}
