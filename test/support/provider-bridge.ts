/**
 * Bridge between a `ProviderHost` (./provider-host.ts, over stdio) and the
 * dynamic provider host it starts (over gRPC on loopback). It runs where the
 * provider host must run (e.g. under `ip netns exec <ns>`), so both share one
 * loopback. It forwards serialized messages and knows nothing of their types.
 *
 * argv: `<dynamic-provider script>`; cwd and environment pass on to the host.
 * stdout, one JSON line each: `{"ready":{"hostPid":n}}` once, then per request
 * `{"id":n,"response":"<base64>"}` or
 * `{"id":n,"error":{"code":n,"details":"…","statusDetails":"<base64>"?}}`.
 * stdin, one JSON line each: `{"id":n,"method":"create","request":"<base64>"}`
 * (`method` is a key of `ResourceProviderService`). When stdin closes, the
 * bridge stops the host, waits for it and exits.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type * as Grpc from "@grpc/grpc-js";
import { ResourceProviderClient, ResourceProviderService } from "@pulumi/pulumi/proto/provider_grpc_pb";

/** One request line on stdin. */
interface BridgeRequest {
  readonly id: number;
  readonly method: keyof typeof ResourceProviderService;
  readonly request: string;
}

// The generated client's own copy of grpc-js: credentials from another copy are rejected.
const grpc: typeof Grpc = require(require.resolve("@grpc/grpc-js", { paths: [require.resolve("@pulumi/pulumi/proto/provider_grpc_pb")] }));

function send(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function forward(client: ResourceProviderClient, { id, method, request }: BridgeRequest): void {
  const identity = (bytes: Buffer) => bytes;
  client.makeUnaryRequest(ResourceProviderService[method].path, identity, identity, Buffer.from(request, "base64"), (error, response) => {
    if (!error) return send({ id, response: (response ?? Buffer.alloc(0)).toString("base64") });
    const statusDetails = error.metadata?.get("grpc-status-details-bin")[0];
    send({ id, error: { code: error.code, details: error.details, statusDetails: statusDetails && Buffer.from(statusDetails).toString("base64") } });
  });
}

async function main(): Promise<void> {
  const [providerScript] = process.argv.slice(2);
  // The argument is the engine address: required by the host, never used by it.
  const host = spawn(process.execPath, [providerScript, "127.0.0.1:0"], { stdio: ["ignore", "pipe", "inherit"] });
  let stopping = false;
  host.on("exit", (code, signal) => {
    if (!stopping) console.error(`provider host exited (code ${code}, signal ${signal})`);
    process.exit(stopping ? 0 : 1);
  });
  const hostLines = createInterface({ input: host.stdout });
  const port = await new Promise<string>((resolve) => hostLines.once("line", resolve));
  // Anything else the host prints (console.log in provider code) must not mix with our replies.
  hostLines.on("line", (line) => console.error(`[provider host] ${line}`));

  const client = new ResourceProviderClient(`127.0.0.1:${port.trim()}`, grpc.credentials.createInsecure());
  createInterface({ input: process.stdin })
    .on("line", (line) => forward(client, JSON.parse(line) as BridgeRequest))
    .on("close", () => {
      stopping = true;
      client.close();
      host.kill("SIGTERM");
    });
  send({ ready: { hostPid: host.pid } });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
