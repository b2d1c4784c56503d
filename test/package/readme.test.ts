/**
 * The README's TypeScript examples compile against the package's types
 * (`bin/sdk/index.d.ts` and `bin/provider/index.d.ts`, as `tsc -p .` built
 * them), with the compiler options of Pulumi's TypeScript template. Each
 * ```ts block is a module of its own; a block may use `config` and
 * `connection` without declaring them, as prose examples do.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { compiledPath } from "../support/compiled";
import { REPO } from "./installed-program";

/** What a README block may use without declaring it. */
const AMBIENT = `declare const config: import("@pulumi/pulumi").Config;
declare const connection: import("pulumi-docker-firewall").ConnectionArgs;
`;

/** One fenced TypeScript block of the README. */
interface Block {
  /** Line of the README where its code starts (1-based). */
  readonly line: number;
  readonly code: string;
}

/** Every ```ts (or ```typescript) block of `markdown`. */
function typescriptBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith("```"));
    blocks.push({ line: i + 2, code: lines.slice(i + 1, end).join("\n") });
    i = end;
  }
  return blocks;
}

/** The diagnostics of compiling `blocks`, each as `README.md:<line>: <message>`. */
function diagnosticsOf(blocks: readonly Block[]): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
    types: ["node"],
    noEmit: true,
    baseUrl: REPO,
    paths: {
      "pulumi-docker-firewall": [compiledPath("sdk/index.d.ts")],
      "pulumi-docker-firewall/provider": [compiledPath("provider/index.d.ts")],
    },
  };
  // Virtual files in the repository's root, so that other imports resolve from its node_modules.
  const files = new Map<string, string>([[path.join(REPO, "readme-ambient.d.ts"), AMBIENT]]);
  const blockOf = new Map<string, Block>();
  blocks.forEach((block, i) => {
    const name = path.join(REPO, `readme-block-${i + 1}.ts`);
    files.set(name, block.code);
    blockOf.set(name, block);
  });
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => files.has(name) || fileExists(name);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  host.getSourceFile = (name, language, ...rest) => {
    const text = files.get(name);
    return text === undefined ? getSourceFile(name, language, ...rest) : ts.createSourceFile(name, text, language);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const block = d.file && blockOf.get(d.file.fileName);
    if (!d.file || d.start === undefined) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return block ? `README.md:${block.line + line}: ${message}` : `${d.file.fileName}:${line + 1}: ${message}`;
  });
}

test("every TypeScript block of the README compiles against the package's types", () => {
  const blocks = typescriptBlocks(readFileSync(path.join(REPO, "README.md"), "utf8"));
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  expect(diagnosticsOf(blocks)).toEqual([]);
}, 60_000);

test("a block with a mistake fails, at its README line", () => {
  const wrong: Block = { line: 40, code: 'import * as dfw from "pulumi-docker-firewall";\n\nnew dfw.DockerUserRule("x", { action: "DENY" });' };
  expect(diagnosticsOf([wrong])).toEqual([expect.stringMatching(/^README\.md:42: Type '"DENY"' is not assignable/)]);
}, 60_000);
