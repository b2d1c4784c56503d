import { FirewallError } from "../errors";

/**
 * daemon.json cannot be edited safely: it is not a JSON object, holds a key
 * twice, or holds a managed key with a value of the wrong type. Nothing was
 * changed; the message names the host, the file and the line.
 */
export class DaemonFileError extends FirewallError {
  override readonly name = "DaemonFileError";

  /**
   * @param host the host's display name
   * @param path the file
   * @param line the 1-based line of the problem
   * @param reason what is wrong there
   */
  constructor(
    readonly host: string,
    readonly path: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${host}: ${path} line ${line}: ${reason}; the file was left as it is: fix it by hand, then retry`);
  }
}
