// The scenario file's schema (zod), and the middlebox process's config schema built from the
// same pieces, so each limit is written once. Unknown fields are errors (strict objects), so a
// typo never silently falls back to a default. load.ts maps each issue back to its line in the file.
import { z } from 'zod';
import { PRESET_NAMES } from './presets.js';

// ---- Pieces and limits shared by the scenario file and the middlebox process's config ----------

const sides = z.enum(['none', 'syn', 'synack', 'both']);
const direction = z.enum(['to-client', 'to-server', 'both']);
const ms = z.number().finite().nonnegative();
const probability = z.number().min(0).max(1);
/** One-way delay, and reordering's extra delay, in ms. */
const delayMs = ms.max(5000);
/** Egress shaping, Mbit/s (0 = unshaped). */
const rateMbit = z.number().finite().nonnegative().max(10000);
/** Drop every Nth first transmission (N >= 2: 1 would drop every one, and no transfer ends). */
const everyNth = z.number().int().min(2);
/** Hold the every-th packet of a kind per flow for holdMs (every >= 2: something must overtake it). */
const lateRule = z
  .object({ every: z.number().int().min(2).max(1_000_000), holdMs: z.number().finite().positive().max(5000) })
  .strict();
/** Late packets: `{ clientAcks: { every: 20, holdMs: 200 } }` and/or `serverData: {...}`. */
const late = z.object({ clientAcks: lateRule.optional(), serverData: lateRule.optional() }).strict();
const isn = z.object({ client: z.boolean(), server: z.boolean() }).strict();
const seqOffset = z.number().int().min(0).max(0xffffffff);
const fixedOffsets = z.object({ client: seqOffset.optional(), server: seqOffset.optional() }).strict();
/** A window scale shift count (RFC 7323: at most 14). */
const wsShift = z.number().int().min(0).max(14);
const timestampsStrip = z.enum(['none', 'syn', 'synack', 'both', 'all']);

// ---- The scenario file -------------------------------------------------------------------------

const sysctlValue = z
  .union([z.string(), z.number(), z.boolean()])
  .transform((v) => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v)));
const sysctlMap = z.record(z.string(), sysctlValue);

const loss = z.union([
  z.literal('none'),
  z.object({ rate: probability, direction: direction.default('both') }).strict(),
  z.object({ everyNth, direction: direction.default('to-client') }).strict(),
]);

export const pathSchema = z
  .object({
    delayMs: delayMs.default(0),
    rateMbit: rateMbit.default(0),
    loss: loss.default('none'),
    reorder: z
      .object({ rate: probability.default(0), extraDelayMs: delayMs.default(0) })
      .strict()
      .default({}),
    late: late.optional(),
  })
  .strict();

export const middleboxSchema = z
  .object({
    preset: z.enum(PRESET_NAMES as [string, ...string[]]).default('transparent'),
    isn: isn.optional(),
    sackTranslation: z.boolean().optional(),
    fixedOffsets: fixedOffsets.optional(),
    options: z
      .object({
        sackPermitted: z.object({ strip: sides }).strict().optional(),
        windowScale: z
          .object({ strip: sides.default('none'), setSyn: wsShift.optional(), setSynAck: wsShift.optional() })
          .strict()
          .optional(),
        timestamps: z.object({ strip: timestampsStrip }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const serverSchema = z
  .object({
    sysctls: sysctlMap.default({}),
    firewall: z
      .object({
        dropInvalid: z.boolean().default(true),
        backend: z.enum(['nft', 'legacy']).default('nft'),
        policy: z.enum(['drop', 'accept']).default('drop'),
        /** The user's own ruleset, loaded instead of ctlab's firewall: an iptables-save file or an nft -f ruleset (path relative to the scenario). */
        rules: z.string().min(1).optional(),
        /** The rules file's format; detected from its content when absent. */
        format: z.enum(['iptables', 'nft']).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

/** A dotted-quad IPv4 address (range checks in load.ts, so the error can name the lab's addresses). */
const ipv4 = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/,
    'an IPv4 address, e.g. 198.18.3.80',
  );

/** The client node: `{ serviceVip: 198.18.3.80, dropInvalid: false, sysctls: {...} }` (kube-proxy-style NAT). */
export const clientSchema = z
  .object({
    serviceVip: ipv4.optional(),
    dropInvalid: z.boolean().default(false),
    sysctls: sysctlMap.default({}),
  })
  .strict();

/** A variant's client changes; `serviceVip: none` connects directly (no NAT). */
export const clientOverrideSchema = z
  .object({
    serviceVip: z.union([z.literal('none'), ipv4]).optional(),
    dropInvalid: z.boolean().optional(),
    sysctls: sysctlMap.optional(),
  })
  .strict();

/** The HTTP client's settings every HTTP workload shares (oai-pmh, http, upload, bulk). */
const httpClientFields = {
  connectTimeoutMs: ms.min(100).default(5000),
  /** An attempt that makes no progress (no byte received, none sent) for this long times out. */
  readTimeoutMs: ms.min(100).default(10000),
  /** Retries per request (per page for oai-pmh) after the first attempt. */
  retries: z.number().int().min(0).max(100).default(3),
  backoffMs: ms.default(500),
  /** Give up on the whole workload after this long. */
  maxDurationMs: ms.min(1000).max(86_400_000).default(600_000),
};

/**
 * A byte size: a whole number of bytes, or a string with a unit ("64KiB", "1.5 MB", "10MiB":
 * B, kB/KB = 1000, KiB = 1024, MB, MiB, GB, GiB). Its limits are the workload's, checked in
 * src/scenario/workload.ts (so the message can name them in words).
 */
export const byteSize = z.union([
  z.number().finite(),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*(B|kB|KB|KiB|MB|MiB|GB|GiB)?\s*$/, 'a size in bytes, e.g. 1000, "64KiB" or "1.5MB"'),
]);

/** One size, or a list of sizes the requests take in turn. */
const sizes = z.array(byteSize).min(1, 'at least one size').max(1000);

/** The OAI-PMH harvest (the default workload): the incident's own traffic. */
export const oaiWorkloadSchema = z
  .object({
    kind: z.literal('oai-pmh').optional(),
    records: z.number().int().min(1).max(1_000_000).default(3812),
    pageSize: z.number().int().min(1).max(10_000).default(100),
    recordBytes: z.number().int().min(200).max(1_000_000).default(3000),
    keepAlive: z.boolean().default(false),
    ...httpClientFields,
  })
  .strict();

/** N GETs of the server's /bytes/<size>: `size` (every response) or `sizes` (taken in turn). */
export const httpWorkloadSchema = z
  .object({
    kind: z.literal('http'),
    /** How many requests (default: one per size listed). */
    requests: z.number().int().min(1).max(100_000).optional(),
    size: byteSize.optional(),
    sizes: sizes.optional(),
    /** Requests in flight at once, each on its own connection. */
    concurrency: z.number().int().min(1).max(64).default(1),
    keepAlive: z.boolean().default(false),
    ...httpClientFields,
  })
  .strict();

/** N POSTs to the server's /upload with bodies of `size` or `sizes`; each answer's byte count is checked. */
export const uploadWorkloadSchema = httpWorkloadSchema.extend({ kind: z.literal('upload') }).strict();

/** One long transfer, to the client or to the server, for `size` bytes or `durationMs`. */
export const bulkWorkloadSchema = z
  .object({
    kind: z.literal('bulk'),
    direction: z.enum(['to-client', 'to-server']).default('to-client'),
    size: byteSize.optional(),
    durationMs: ms.optional(),
    ...httpClientFields,
    /** One transfer: a retry would start it over, so none by default. */
    retries: z.number().int().min(0).max(100).default(0),
  })
  .strict();

/** The user's own client command, run with `sh -c` in the client node (CTLAB_SERVER, CTLAB_PORT, CTLAB_URL set). */
export const commandWorkloadSchema = z
  .object({
    kind: z.literal('command'),
    command: z.string(),
    /** The command is stopped (SIGTERM, then SIGKILL) after this long. */
    maxDurationMs: ms.min(1000).max(86_400_000).default(60_000),
  })
  .strict();

export const workloadSchema = z.discriminatedUnion('kind', [
  oaiWorkloadSchema,
  httpWorkloadSchema,
  uploadWorkloadSchema,
  bulkWorkloadSchema,
  commandWorkloadSchema,
]);

/** A mid-run action: `{ at: 2s, node: server, do: conntrack-flush }` (`at` after the harvest starts). */
export const actionSchema = z
  .object({
    at: z.string().regex(/^\d+(\.\d+)?(ms|s)$/, 'a time after the harvest starts, e.g. "2s" or "1500ms"'),
    node: z.enum(['server', 'client', 'middlebox']).default('server'),
    do: z.enum(['conntrack-flush']),
  })
  .strict();

/** Expectations that hold only on some kernel releases (conntrack's verdicts changed over time). */
export const kernelExpect = z
  .object({
    kernel: z.string().min(1),
    expect: z.array(z.string()).min(1, 'a kernel condition needs at least one expectation'),
  })
  .strict();

export const variantSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a name of letters, digits, ".", "_" or "-" (at most 64)'),
    sysctls: sysctlMap.default({}),
    /** Client node changes over the scenario's `client`. */
    client: clientOverrideSchema.optional(),
    /** "metric op value", or `{ kernel: "<6.1", expect: [...] }`: tested only on matching kernel releases. */
    expect: z.array(z.union([z.string(), kernelExpect])).default([]),
    /** Replaces the scenario's actions for this variant ([] = none: the control). */
    actions: z.array(actionSchema).optional(),
  })
  .strict();

// The matrix: axes of middlebox profiles and server configurations, crossed into cells (each
// cell is the scenario with one firewall and one server configuration), with the expected
// outcome per cell given by patterns over axis names.
const axisName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9+._-]{0,39}$/, 'a name of letters, digits, "+", ".", "_" or "-" (at most 40)');
/** An axis pattern: a name, a glob ("*", "asa*"), or a list of them (any matches). */
const pattern = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const matrixServerSchema = z
  .object({
    /** Merged over server.sysctls. */
    sysctls: sysctlMap.default({}),
    firewall: z
      .object({
        dropInvalid: z.boolean().optional(),
        backend: z.enum(['nft', 'legacy']).optional(),
        policy: z.enum(['drop', 'accept']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const matrixSchema = z
  .object({
    axes: z
      .object({
        /** Middlebox presets by name (checked in load.ts, so an error points at the name), or named profiles (a preset plus overrides, as in `middlebox`). */
        firewall: z
          .union([z.array(axisName).min(1, 'at least one firewall'), z.record(axisName, middleboxSchema)])
          .optional(),
        /** Named server configurations; without it, the scenario's variants are the server axis. */
        server: z.record(axisName, matrixServerSchema).optional(),
      })
      .strict(),
    /** Cells not to run (pairs of patterns). */
    exclude: z.array(z.object({ firewall: pattern.default('*'), server: pattern.default('*') }).strict()).default([]),
    /** The cell whose throughput is the baseline (1.00) of the others. */
    control: z.object({ firewall: z.string(), server: z.string() }).strict().optional(),
    /** What each cell should show: every rule whose patterns match a cell applies to it. */
    expect: z
      .array(
        z
          .object({
            firewall: pattern.default('*'),
            server: pattern.default('*'),
            expect: z.array(z.string()).min(1, 'a rule needs at least one expectation'),
            /** Why (the physics), shown in the report. */
            why: z.string().default(''),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export const scenarioSchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    description: z.string().default(''),
    seed: z.number().int().min(0).max(0xffffffff).default(1),
    repetitions: z.number().int().min(1).max(1000).default(1),
    path: pathSchema.default({}),
    middlebox: middleboxSchema.default({}),
    server: serverSchema.default({}),
    client: clientSchema.optional(),
    workload: workloadSchema.default({}),
    // Required unless a matrix gives the server configurations (checked in load.ts).
    variants: z
      .array(variantSchema)
      .min(1, 'a scenario needs at least one variant (usually the flag off and on)')
      .optional(),
    /** Mid-run actions of every variant. */
    actions: z.array(actionSchema).default([]),
    matrix: matrixSchema.optional(),
  })
  .strict();

export type ScenarioFile = z.infer<typeof scenarioSchema>;

// ---- The middlebox process's config (/etc/ctlab/middlebox.json) ----------------------------------
// The topology writes it from the validated scenario (profile resolved from its preset, loss as
// the model's LossModel); the middlebox process validates it with this schema, its only check.

/** A resolved middlebox profile (scenario/model.ts MiddleboxProfile). */
export const profileModelSchema = z
  .object({
    name: z.string().min(1),
    isn,
    sackTranslation: z.boolean(),
    fixedOffsets: fixedOffsets.optional(),
    options: z
      .object({
        sackPermitted: z.object({ strip: sides }).strict(),
        windowScale: z.object({ strip: sides, setSyn: wsShift.optional(), setSynAck: wsShift.optional() }).strict(),
        timestamps: z.object({ strip: timestampsStrip }).strict(),
      })
      .strict(),
  })
  .strict();

/** The path (scenario/model.ts PathModel). */
export const pathModelSchema = z
  .object({
    delayMs,
    rateMbit,
    loss: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('none') }).strict(),
      z.object({ kind: z.literal('rate'), rate: probability, direction }).strict(),
      z.object({ kind: z.literal('every-nth'), n: everyNth, direction }).strict(),
    ]),
    reorder: z.object({ rate: probability, extraDelayMs: delayMs }).strict(),
    late: late.optional(),
  })
  .strict();

export const middleboxProcessSchema = z
  .object({
    /** NFQUEUE queue number the middlebox's iptables rule sends to. */
    queue: z.number().int().min(0).max(65535),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    profile: profileModelSchema,
    path: pathModelSchema,
    /** Counters JSON, rewritten atomically every second and on exit. */
    countersFile: z.string().min(1),
    /** Flow records, JSON lines, written on exit. */
    flowsFile: z.string().min(1),
    /** Packets per batch (default 128). */
    batch: z.number().int().min(1).max(1024).optional(),
    /** Byte pool for held (delayed) modified packets (default 32 MiB). */
    holdPoolBytes: z
      .number()
      .int()
      .min(1 << 16)
      .max(1 << 30)
      .optional(),
  })
  .strict();
