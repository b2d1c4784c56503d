import type { ExecOptions, ExecResult, Host } from "../provider/host/host";

/** A host that counts the commands run through it and passes everything on. */
export class CountingHost implements Host {
  #execCount = 0;

  /** @param inner the host that really runs the commands */
  constructor(private readonly inner: Host) {}

  /** How many times `exec` has been called. */
  get execCount(): number {
    return this.#execCount;
  }

  get name(): string {
    return this.inner.name;
  }

  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    this.#execCount += 1;
    return this.inner.exec(argv, options);
  }

  readFile(path: string): Promise<string | undefined> {
    return this.inner.readFile(path);
  }

  writeFile(path: string, content: string): Promise<void> {
    return this.inner.writeFile(path, content);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
