import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as proto from "@pulumi/pulumi/proto/provider_pb";
import { Status } from "@pulumi/pulumi/proto/status_pb";
import { compiledPath } from "./compiled";

/** What the engine sends in place of a value that is not known yet (previews only), whatever the field's type. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Type token of every Node.js dynamic resource. */
export const DYNAMIC_RESOURCE_TYPE = "pulumi-nodejs:dynamic:Resource";

/** Type token of the provider resource the engine configures for dynamic resources. */
const DYNAMIC_PROVIDER_TYPE = "pulumi:providers:pulumi-nodejs";

/** A property bag, as plain JSON-like JavaScript. */
export type PropertyMap = Record<string, unknown>;

/** A URN as the engine builds it for a resource at the top of a stack. */
export function urn(project: string, stack: string, type: string, name: string): string {
  return `urn:pulumi:${stack}::${project}::${type}::${name}`;
}

/** The `[type, name]` of a URN. */
function typeAndName(resourceUrn: string): [string, string] {
  const [, , qualifiedType, ...name] = resourceUrn.split("::");
  return [qualifiedType.split("$").pop() ?? qualifiedType, name.join("::")];
}

/** Options of {@link ProviderHost.start}. */
export interface ProviderHostOptions {
  /** The program directory: the host's cwd. `require()` calls inside provider methods resolve from here. */
  readonly cwd: string;
  /** Pulumi project name (`PULUMI_NODEJS_PROJECT`, `PULUMI_PROJECT`). */
  readonly project: string;
  /** Pulumi stack name (in the URN of the provider resource that `configure` names). */
  readonly stack: string;
  /** Stack config with full keys (`"<project>:<key>"`): `PULUMI_CONFIG`, and what `configure()` sends by default. @default {} */
  readonly config?: Readonly<Record<string, string>>;
  /** argv that the bridge (and so the host) runs under, e.g. `["ip", "netns", "exec", "<ns>"]`. @default [] */
  readonly prefix?: readonly string[];
  /** Extra environment for the bridge and the host. @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for the host to listen, in ms. @default 30000 */
  readonly startTimeoutMs?: number;
}

/** The state a `create` that failed half-way reported (`ErrorResourceInitFailed`): the engine keeps the resource. */
export interface InitFailure {
  /** Id of the resource that was created. */
  readonly id: string;
  /** Its outputs. */
  readonly properties: PropertyMap;
  /** Why it is not healthy. */
  readonly reasons: readonly string[];
}

/** A provider call that failed: the gRPC status code and message, and any structured details. */
export class ProviderError extends Error {
  override readonly name = "ProviderError";

  /** Wraps the failure of `method`. */
  constructor(
    /** The RPC that failed, e.g. `"create"`. */
    readonly method: string,
    /** gRPC status code (2 = UNKNOWN for errors thrown by provider code). */
    readonly code: number,
    /** gRPC status message: the provider's error message. */
    readonly details: string,
    /** Present when `create`/`update` threw an error carrying `id` (a partial failure). */
    readonly initFailure?: InitFailure,
  ) {
    super(`${method} failed (gRPC code ${code}): ${details}`);
  }
}

/** Result of {@link ProviderHost.configure}. */
export interface ConfigureResult {
  /** false for the dynamic host: the engine unwraps secrets before every call. */
  readonly acceptSecrets: boolean;
  /** false for the dynamic host: the engine never calls create/update during a preview. */
  readonly supportsPreview: boolean;
}

/** Result of {@link ProviderHost.check}. */
export interface CheckResult {
  /** Checked inputs (`__provider` included): what the engine uses from then on. */
  readonly inputs: PropertyMap;
  /** Validation failures shown to the user. */
  readonly failures: readonly { readonly property: string; readonly reason: string }[];
}

/** Result of {@link ProviderHost.diff}. */
export interface DiffResult {
  /** true/false as the provider said; undefined when it gave no answer (the engine then compares inputs itself). */
  readonly changes: boolean | undefined;
  /** Properties whose change forces a replacement. */
  readonly replaces: readonly string[];
  /** Delete the old resource before creating its replacement. */
  readonly deleteBeforeReplace: boolean;
  /** Changed properties (`DiffResponse.diffs`; the dynamic host never fills it). */
  readonly diffs: readonly string[];
}

/** Result of {@link ProviderHost.read}. */
export interface ReadResult {
  /** The resource id, or `""` when it is gone. */
  readonly id: string;
  /** Live outputs (`__provider` included). */
  readonly properties: PropertyMap;
  /** New inputs the engine stores, when the provider returned some. */
  readonly inputs?: PropertyMap;
}

/** Options for calls that the engine also makes during previews. */
export interface PreviewOptions {
  /** Sets `preview` on the request. The dynamic host ignores it and really does the work. @default false */
  readonly preview?: boolean;
}

/** Options for calls that carry the resource's stored inputs. */
export interface OldInputsOptions {
  /** Old inputs (`old_inputs` on the request); the dynamic host never reads them. @default not sent */
  readonly oldInputs?: PropertyMap;
}

/** A serialized protobuf message. */
interface Message {
  serializeBinary(): Uint8Array;
}

/** A call waiting for the bridge's reply. */
interface Pending {
  readonly method: string;
  readonly resolve: (response: Buffer) => void;
  readonly reject: (error: Error) => void;
}

/** One reply line from the bridge. */
interface BridgeReply {
  readonly ready?: { readonly hostPid: number };
  readonly id?: number;
  readonly response?: string;
  readonly error?: { readonly code: number; readonly details: string; readonly statusDetails?: string };
}

const STDERR_TAIL = 8192;
const STOP_TIMEOUT_MS = 5000;

const liveBridges = new Set<ChildProcessWithoutNullStreams>();
process.on("exit", () => {
  for (const bridge of liveBridges) killGroup(bridge, "SIGKILL");
});

/** Signals the bridge's process group: the bridge, the prefix's processes and the provider host. */
function killGroup(bridge: ChildProcessWithoutNullStreams, signal: NodeJS.Signals): void {
  try {
    process.kill(-(bridge.pid ?? 0), signal);
  } catch {
    // the group is gone already
  }
}

/** `props` without `undefined` values, as a protobuf Struct. */
function toStruct(props: PropertyMap): Struct {
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(props)));
}

function toProps(struct: Struct | undefined): PropertyMap {
  return (struct?.toJavaScript() ?? {}) as PropertyMap;
}

/** The `ErrorResourceInitFailed` in a `grpc-status-details-bin` trailer, if any. */
function initFailure(statusDetails: string | undefined): InitFailure | undefined {
  if (!statusDetails) return undefined;
  for (const detail of Status.deserializeBinary(Buffer.from(statusDetails, "base64")).getDetailsList()) {
    const failure = detail.unpack(proto.ErrorResourceInitFailed.deserializeBinary, "pulumirpc.ErrorResourceInitFailed");
    if (failure) return { id: failure.getId(), properties: toProps(failure.getProperties()), reasons: failure.getReasonsList() };
  }
  return undefined;
}

/**
 * The real Node.js dynamic provider host
 * (`@pulumi/pulumi/cmd/dynamic-provider`, the process `pulumi up` starts for
 * dynamic resources), driven the way the engine drives it. Every call goes
 * through a bridge process started under the same argv prefix as the host,
 * so the host may live in another network namespace. Requests carry the
 * fields the engine sets (urn, name, type, and the property bags) with
 * secrets unwrapped, as the engine does for this host.
 */
export class ProviderHost {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = "";
  private hostPidValue = 0;
  private exitError?: Error;
  private readonly exited: Promise<void>;
  private stopping?: Promise<void>;

  private constructor(
    private readonly bridge: ChildProcessWithoutNullStreams,
    private readonly options: ProviderHostOptions,
  ) {
    liveBridges.add(bridge);
    bridge.stderr.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-STDERR_TAIL);
    });
    this.exited = new Promise((resolve) => {
      bridge.on("exit", (code, signal) => {
        liveBridges.delete(bridge);
        this.exitError = new Error(`provider bridge exited (code ${code}, signal ${signal}); stderr:\n${this.stderrTail}`);
        for (const call of this.pending.values()) call.reject(this.exitError);
        this.pending.clear();
        resolve();
      });
    });
  }

  /** Starts the bridge and the host (in `options.cwd`, under `options.prefix`) and waits until the host listens. */
  static async start(options: ProviderHostOptions): Promise<ProviderHost> {
    const hostScript = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [options.cwd] });
    const [command, ...args] = [...(options.prefix ?? []), process.execPath, compiledPath("test/support/provider-bridge.js"), hostScript];
    const env = {
      ...process.env,
      ...options.env,
      PULUMI_NODEJS_PROJECT: options.project,
      PULUMI_PROJECT: options.project,
      PULUMI_CONFIG: JSON.stringify(options.config ?? {}),
    };
    // A process group of its own, so that close() and the exit handler reach everything under it.
    const bridge = spawn(command, args, { cwd: options.cwd, env, detached: true, stdio: "pipe" });
    bridge.stdin.on("error", () => undefined); // a bridge that died is reported by the call that needed it
    const host = new ProviderHost(bridge, options);
    try {
      host.hostPidValue = await host.listen(options.startTimeoutMs ?? 30_000);
    } catch (error) {
      await host.close();
      throw error;
    }
    return host;
  }

  /** Pid of the provider host process. */
  get hostPid(): number {
    return this.hostPidValue;
  }

  /** Routes the bridge's reply lines; resolves with the host's pid once it listens. */
  private listen(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`provider host not ready after ${timeoutMs} ms; stderr:\n${this.stderrTail}`)), timeoutMs);
      void this.exited.then(() => reject(this.exitError));
      createInterface({ input: this.bridge.stdout }).on("line", (line) => {
        const reply = JSON.parse(line) as BridgeReply;
        if (reply.ready) {
          clearTimeout(timer);
          resolve(reply.ready.hostPid);
          return;
        }
        const call = this.pending.get(reply.id ?? -1);
        if (!call) return;
        this.pending.delete(reply.id ?? -1);
        if (reply.error) {
          const { code, details, statusDetails } = reply.error;
          call.reject(new ProviderError(call.method, code, details, initFailure(statusDetails)));
        } else {
          call.resolve(Buffer.from(reply.response ?? "", "base64"));
        }
      });
    });
  }

  /** Sends one RPC through the bridge and decodes its response. */
  private call<R>(method: string, request: Message, decode: (bytes: Uint8Array) => R): Promise<R> {
    if (this.stopping) return Promise.reject(new Error("provider host is closed"));
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    const response = new Promise<Buffer>((resolve, reject) => this.pending.set(id, { method, resolve, reject }));
    this.bridge.stdin.write(`${JSON.stringify({ id, method, request: Buffer.from(request.serializeBinary()).toString("base64") })}\n`);
    return response.then(decode);
  }

  /**
   * `Configure`, as the engine sends it for the default `pulumi-nodejs`
   * provider: `args` = the whole stack config (full keys), `variables` =
   * the same under `pulumi-nodejs:config:`, and the provider resource's urn,
   * name, type and id.
   */
  async configure(config: Readonly<Record<string, string>> = this.options.config ?? {}): Promise<ConfigureResult> {
    const { project, stack } = this.options;
    const request = new proto.ConfigureRequest()
      .setArgs(toStruct(config))
      .setAcceptsecrets(true)
      .setAcceptresources(true)
      .setSendsOldInputs(true)
      .setSendsOldInputsToDelete(true)
      .setUrn(urn(project, stack, DYNAMIC_PROVIDER_TYPE, "default"))
      .setName("default")
      .setType(DYNAMIC_PROVIDER_TYPE)
      .setId(randomUUID());
    for (const [key, value] of Object.entries(config)) request.getVariablesMap().set(`pulumi-nodejs:config:${key}`, value);
    const response = await this.call("configure", request, proto.ConfigureResponse.deserializeBinary);
    return { acceptSecrets: response.getAcceptsecrets(), supportsPreview: response.getSupportspreview() };
  }

  /** `Check`: `olds` = the stored inputs (`{}` before the first create), `news` = the program's inputs with `__provider`. */
  async check(resourceUrn: string, olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    const [type, name] = typeAndName(resourceUrn);
    const request = new proto.CheckRequest()
      .setUrn(resourceUrn)
      .setName(name)
      .setType(type)
      .setOlds(toStruct(olds))
      .setNews(toStruct(news))
      .setRandomseed(randomBytes(32));
    const response = await this.call("check", request, proto.CheckResponse.deserializeBinary);
    const failures = response.getFailuresList().map((failure) => ({ property: failure.getProperty(), reason: failure.getReason() }));
    return { inputs: toProps(response.getInputs()), failures };
  }

  /** `Create`: `properties` = the checked inputs. */
  async create(resourceUrn: string, properties: PropertyMap, options: PreviewOptions = {}): Promise<{ id: string; properties: PropertyMap }> {
    const [type, name] = typeAndName(resourceUrn);
    const request = new proto.CreateRequest()
      .setUrn(resourceUrn)
      .setName(name)
      .setType(type)
      .setProperties(toStruct(properties))
      .setPreview(options.preview ?? false);
    const response = await this.call("create", request, proto.CreateResponse.deserializeBinary);
    return { id: response.getId(), properties: toProps(response.getProperties()) };
  }

  /** `Diff`: `olds` = the stored outputs, `news` = the new checked inputs. */
  async diff(resourceUrn: string, id: string, olds: PropertyMap, news: PropertyMap, options: OldInputsOptions = {}): Promise<DiffResult> {
    const [type, name] = typeAndName(resourceUrn);
    const request = new proto.DiffRequest().setId(id).setUrn(resourceUrn).setName(name).setType(type).setOlds(toStruct(olds)).setNews(toStruct(news));
    if (options.oldInputs) request.setOldInputs(toStruct(options.oldInputs));
    const response = await this.call("diff", request, proto.DiffResponse.deserializeBinary);
    const { DIFF_SOME, DIFF_NONE } = proto.DiffResponse.DiffChanges;
    const changes = response.getChanges();
    return {
      changes: changes === DIFF_SOME ? true : changes === DIFF_NONE ? false : undefined,
      replaces: response.getReplacesList(),
      deleteBeforeReplace: response.getDeletebeforereplace(),
      diffs: response.getDiffsList(),
    };
  }

  /** `Update`: `olds` = the stored outputs, `news` = the new checked inputs. Returns the full new outputs. */
  async update(
    resourceUrn: string,
    id: string,
    olds: PropertyMap,
    news: PropertyMap,
    options: PreviewOptions & OldInputsOptions = {},
  ): Promise<{ properties: PropertyMap }> {
    const [type, name] = typeAndName(resourceUrn);
    const request = new proto.UpdateRequest()
      .setId(id)
      .setUrn(resourceUrn)
      .setName(name)
      .setType(type)
      .setOlds(toStruct(olds))
      .setNews(toStruct(news))
      .setPreview(options.preview ?? false);
    if (options.oldInputs) request.setOldInputs(toStruct(options.oldInputs));
    const response = await this.call("update", request, proto.UpdateResponse.deserializeBinary);
    return { properties: toProps(response.getProperties()) };
  }

  /** `Read` as `pulumi refresh` sends it: `properties` = the stored outputs, `inputs` = the stored inputs. */
  async read(resourceUrn: string, id: string, properties: PropertyMap, inputs: PropertyMap): Promise<ReadResult> {
    const [type, name] = typeAndName(resourceUrn);
    const request = new proto.ReadRequest().setId(id).setUrn(resourceUrn).setName(name).setType(type).setProperties(toStruct(properties)).setInputs(toStruct(inputs));
    const response = await this.call("read", request, proto.ReadResponse.deserializeBinary);
    const newInputs = response.getInputs();
    return { id: response.getId(), properties: toProps(response.getProperties()), ...(newInputs && { inputs: toProps(newInputs) }) };
  }

  /** `Delete`: `properties` = the stored outputs (the host reads `__provider` from them). */
  async delete(resourceUrn: string, id: string, properties: PropertyMap, options: OldInputsOptions = {}): Promise<void> {
    const [type, name] = typeAndName(resourceUrn);
    const request = new proto.DeleteRequest().setId(id).setUrn(resourceUrn).setName(name).setType(type).setProperties(toStruct(properties));
    if (options.oldInputs) request.setOldInputs(toStruct(options.oldInputs));
    await this.call("delete", request, (bytes) => bytes);
  }

  /**
   * Stops the host and the bridge: closes the bridge's stdin (it stops the
   * host and waits for it), then kills whatever is left in the process group.
   * Safe to call more than once.
   */
  close(): Promise<void> {
    this.stopping ??= (async () => {
      this.bridge.stdin.end();
      const timer = setTimeout(() => killGroup(this.bridge, "SIGKILL"), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
      killGroup(this.bridge, "SIGKILL");
    })();
    return this.stopping;
  }
}
