// The library's options, checked before anything starts (execa's way): an unknown option or a
// bad value is a CtlabError with code SCENARIO (bad input; the CLI's exit 2) naming the option.
import { z, type ZodTypeAny } from 'zod';
import { CtlabError } from '../errors.js';
import { RUNTIME_KINDS } from '../cli/lab.js';
import { fieldName, issueMessage } from '../scenario/issues.js';

const fn = z.custom<(message: string) => void>((v) => typeof v === 'function', 'must be a function');
const seed = z.number().int().min(0).max(0xffffffff);
// The label every lab object carries (src/runtime/labels.ts's rule).
const runId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,39}$/, "1-40 characters: a-z, 0-9, '.', '_' or '-', starting with a letter or digit");

const common = {
  runtime: z.enum(RUNTIME_KINDS).optional(),
  seed: seed.optional(),
  runId: runId.optional(),
  progress: fn.optional(),
  verbose: z.boolean().optional(),
};

export const runOptionsSchema = z
  .object({
    ...common,
    outDir: z.string().min(1).optional(),
    variants: z.array(z.string().min(1)).min(1).optional(),
    parallel: z.number().int().min(1).max(64).optional(),
  })
  .strict();

export const labOptionsSchema = z
  .object({
    ...common,
    variant: z.string().min(1).optional(),
  })
  .strict();

/** Validate `value` as the options of `fn`; the first problems name the option (e.g. "runScenario: options.seed: ..."). */
export function checkOptions<S extends ZodTypeAny>(fnName: string, schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const lines = r.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => `${fieldName(['options', ...i.path, k])}: unknown option`)
      : [`${fieldName(['options', ...i.path])}: ${issueMessage(i)}`],
  );
  const known = Object.keys((schema as unknown as z.AnyZodObject).shape ?? {}).join(', ');
  throw new CtlabError('SCENARIO', `${fnName}: ${lines.join('; ')}`, { hint: `options: ${known}` });
}

export const validateOptionsSchema = z.object({ progress: fn.optional() }).strict();
