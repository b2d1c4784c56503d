import { FirewallError } from "../errors";

/** A rule of the model that no single nft rule expresses (e.g. `--ctstate NEW,DNAT`, a comment over 128 characters). */
export class NftRenderError extends FirewallError {
  override readonly name = "NftRenderError";
}

/** `nft -j` printed something that is not the JSON document we read. */
export class NftOutputError extends FirewallError {
  override readonly name = "NftOutputError";
}

/** A transaction was asked for that would reorder or invent live rules. */
export class NftTransactionError extends FirewallError {
  override readonly name = "NftTransactionError";
}
