import type { z } from "zod";
import type { LiveRule } from "../chains";
import { formatPath, ValidationError, type ValidationIssue } from "../errors";
import { FAMILIES, type Family } from "../family";
import { driftOf, type FamilyRules, type Snapshot } from "../host-session";
import { ownedLiveRules } from "../live-rules";
import type { Connection } from "../connection";
import { containsUnknown, parseOrThrow, validate } from "../schema/validate";
import { firewallIdentity, sessionFor } from "../sessions";
import { storedTargetSchema, type resourceBaseShape } from "./resource-base";

/** The fields every resource's validated arguments have. */
export type BaseArgs = z.infer<z.ZodObject<typeof resourceBaseShape>>;

/** Where a resource's rules live, as stored in state. */
type StoredTarget = z.infer<typeof storedTargetSchema>;

/** Property bags as Pulumi passes them: plain JSON objects. */
export type Props = Record<string, unknown>;

/** What `observe` reads from the host for a resource. */
export interface Observation {
  /** Extra outputs (e.g. what Docker publishes, and `warnings`: what is and is not enforced). */
  readonly outputs: Props;
  /** Drift besides the rules' own: e.g. a path to a port that is served but not guarded. */
  readonly drift: readonly string[];
}

/** What makes a resource kind: its schema, the rules it wants, and what it reads back. */
export interface RuleResourceDefinition<A extends BaseArgs> {
  readonly schema: z.ZodType<A>;
  /**
   * The rules the arguments want, per family, tagged with the owner, for the
   * host as read; without a snapshot (in `check`, which never reads the
   * host), the rules predicted for a host where Docker manages both families.
   */
  rules(args: A, snapshot?: Snapshot): FamilyRules;
  /** Extra outputs and drift read from the host. */
  observe?(args: A, snapshot: Snapshot): Observation;
  /**
   * The output keys `observe` adds: read from the host, never compared as
   * inputs, never validated as arguments. With {@link RULE_OUTPUTS}, the
   * resource's whole list of outputs: adding one is adding its key here.
   * @default []
   */
  readonly observedOutputs?: readonly string[];
}

/** A `check` failure, as Pulumi's `CheckFailure`. */
export interface CheckFailure {
  /** Property path, e.g. `connection.port` or `allowFrom[2]`. */
  readonly property: string;
  /** What is wrong with it, in words a user can act on. */
  readonly reason: string;
}

/**
 * A resource's lifecycle in the shape of a Pulumi dynamic provider, without
 * importing Pulumi: the SDK's providers are one-line shims onto this.
 */
export interface ResourceEngine {
  /** Validates inputs (every problem, with its path) and returns them with the `ruleText` to be written; touches no host. */
  check(olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }>;
  /** Compares stored outputs with new inputs: a change, or a replacement when the target firewall changes; touches no host. */
  diff(id: string, olds: Props, news: Props): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }>;
  /** Puts the rules on the host in one transaction and returns the outputs as read back. */
  create(inputs: Props): Promise<{ id: string; outs: Props }>;
  /** Reads the host: the outputs with the live `ruleText` and `drift`, or id `""` when none of the rules is left. */
  read(id: string, props: Props): Promise<{ id: string; props: Props }>;
  /** Makes the host hold the new rules, in place, in one transaction. */
  update(id: string, olds: Props, news: Props): Promise<{ outs: Props }>;
  /** Removes the resource's rules, and nothing else. */
  delete(id: string, props: Props): Promise<void>;
}

/**
 * The outputs of every rule resource: `ruleText` and `drift`, as `read`
 * found it. `ruleText` is also an input (`check` adds the text to be
 * written; `diff` compares it with the live one); the others are not.
 * Outputs travel back as inputs (`check`'s `ruleText`, the stored outputs
 * `read` and `update` get), so they are set aside before the arguments are
 * validated, which refuses every key it does not know.
 */
const RULE_OUTPUTS = ["ruleText", "drift"] as const;

/** The key Pulumi adds to a dynamic resource's inputs: the serialized provider. Never an argument, never compared. */
const PROVIDER_KEY = "__provider";

/** The inputs that decide which firewall the rules live in: changing one replaces the resource. */
const TARGET_KEYS = ["connection", "iptablesBackend", "__owner"] as const;

/**
 * Builds the lifecycle of a resource made of DOCKER-USER rules:
 * `check` validates everything at once and adds the `ruleText` to be
 * written; `create`/`update` apply it in one transaction and return what
 * the host holds; `read` compares the host with the declaration and lists
 * drift; `delete` removes the resource's rules and nothing else.
 */
export function ruleResource<A extends BaseArgs>(definition: RuleResourceDefinition<A>): ResourceEngine {
  const outputKeys = [...RULE_OUTPUTS, ...(definition.observedOutputs ?? [])];
  const outputOnly = new Set(outputKeys.filter((k) => k !== "ruleText"));
  // Not compared by diff: outputs, the provider's own code (a new version of this package is not a change), and
  // ruleText, which follows from the other inputs and the host (a PublishedPort's direct-access guards follow what
  // Docker publishes): a host that differs from the declaration shows up as drift, which diff does compare.
  const notCompared = new Set([...outputKeys, PROVIDER_KEY]);
  // What the schema validates: everything but outputs and the provider's code.
  const notArguments = new Set([...outputKeys, PROVIDER_KEY]);
  const argumentsOf = (props: Props): Props => withoutKeys(props, notArguments);

  const session = (target: StoredTarget) => sessionFor(target.connection, target.iptablesBackend);

  const outputs = (props: Props, live: Record<Family, readonly LiveRule[]>, drift: readonly string[], observed?: Observation): Props => ({
    ...withoutKeys(props, outputOnly),
    ruleText: ruleText(live),
    ...observed?.outputs,
    drift: [...drift, ...(observed?.drift ?? [])],
  });

  const apply = async (inputs: Props): Promise<Props> => {
    const args = parseOrThrow(definition.schema, argumentsOf(inputs));
    const { snapshot } = await session(args).apply({ owner: args.__owner, firewall: args.firewall, rules: (s) => definition.rules(args, s) });
    return outputs(inputs, liveRules(snapshot, args.__owner), [], definition.observe?.(args, snapshot));
  };

  return {
    async check(_olds, news) {
      const { value: args, issues } = validate(definition.schema, argumentsOf(news));
      if (args !== undefined && !containsUnknown(news)) {
        try {
          return { inputs: { ...news, ruleText: ruleText(definition.rules(args)) }, failures: [] };
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          return { inputs: news, failures: checkFailures(error.issues) };
        }
      }
      return { inputs: news, failures: checkFailures(issues) };
    },

    async diff(_id, olds, news) {
      // During a preview, an input may not be known yet: that is a possible change, not (yet) a replacement.
      const replaces = TARGET_KEYS.filter((k) => !containsUnknown(olds[k]) && !containsUnknown(news[k]) && targetOf(k, olds[k]) !== targetOf(k, news[k]));
      const keys = new Set([...Object.keys(olds), ...Object.keys(news)].filter((k) => !notCompared.has(k)));
      const changed = [...keys].some((k) => !sameJson(olds[k], news[k]));
      const drifted = Array.isArray(olds.drift) && olds.drift.length > 0;
      return { changes: changed || drifted || replaces.length > 0, replaces: [...replaces], deleteBeforeReplace: replaces.length > 0 };
    },

    async create(inputs) {
      const outs = await apply(inputs);
      return { id: String(outs.__owner), outs };
    },

    async read(id, props) {
      const target = parseOrThrow(storedTargetSchema, props);
      const snapshot = await session(target).read();
      const live = liveRules(snapshot, target.__owner);
      if (FAMILIES.every((f) => live[f].length === 0)) return { id: "", props: {} };
      let args: A;
      try {
        args = parseOrThrow(definition.schema, argumentsOf(props));
      } catch (error) {
        // State written by another version: report it rather than fail the refresh; the next `up` rewrites it.
        if (!(error instanceof ValidationError)) throw error;
        return { id, props: outputs(props, live, [`the stored inputs no longer pass this version's checks: ${error.message}`]) };
      }
      const drift = driftOf(snapshot, { owner: target.__owner, firewall: args.firewall, rules: definition.rules(args, snapshot) }, session(target).host.name);
      return { id, props: outputs(props, live, drift, definition.observe?.(args, snapshot)) };
    },

    async update(_id, _olds, news) {
      return { outs: await apply(news) };
    },

    async delete(_id, props) {
      const target = parseOrThrow(storedTargetSchema, props);
      await session(target).apply({ owner: target.__owner, rules: { ipv4: [], ipv6: [] } });
    },
  };
}

/** A target input in comparable form: defaults filled in, one spelling per host, user and credentials aside. */
function targetOf(key: (typeof TARGET_KEYS)[number], value: unknown): string {
  if (key === "connection") return firewallIdentity(value as Connection | undefined);
  if (key === "iptablesBackend") return String(value ?? "auto");
  return String(value);
}

/** The owner's rules on the host, per family, in chain order (DOCKER-USER, in filter or mangle, then INPUT, then our nftables chains). */
function liveRules(snapshot: Snapshot, owner: string): Record<Family, LiveRule[]> {
  const of = (f: Family) => ownedLiveRules(snapshot, f, owner).map((r) => ({ text: r.text, tag: r.tag }));
  return { ipv4: of("ipv4"), ipv6: of("ipv6") };
}

/** `ruleText`: per family, the rules' lines as iptables-save (or, in our nftables tables, nft) prints them, one per line. */
function ruleText(rules: Record<Family, readonly LiveRule[]>): Partial<Record<Family, string>> {
  const text: Partial<Record<Family, string>> = {};
  for (const f of FAMILIES) if (rules[f].length > 0) text[f] = rules[f].map((r) => r.text).join("\n");
  return text;
}

/** Validation issues as Pulumi's check failures. */
function checkFailures(issues: readonly ValidationIssue[]): CheckFailure[] {
  return issues.map((i) => ({ property: formatPath(i.path), reason: i.message }));
}

function withoutKeys(props: Props, keys: ReadonlySet<string>): Props {
  return Object.fromEntries(Object.entries(props).filter(([k]) => !keys.has(k)));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Props)[k])]));
  return value;
}
