// zod issues → words: the field's dotted name and what is wrong with it, in one phrase. Used for
// the scenario file (load.ts adds FILE:LINE:COL) and the middlebox process's config file.
import type { ZodIssue } from 'zod';

export type PathKey = string | number;

/** ['variants', 1, 'sysctls'] → "variants[1].sysctls". */
export function fieldName(path: PathKey[]): string {
  return path.reduce<string>(
    (acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : String(k)),
    '',
  );
}

export function issueMessage(issue: ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.received === 'undefined'
        ? `required (${issue.expected})`
        : `expected ${issue.expected}, got ${issue.received}`;
    case 'too_small':
      if (issue.type === 'array') return issue.message;
      if (issue.type === 'string')
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}`;
    case 'too_big':
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    case 'invalid_enum_value':
      return `"${String(issue.received)}" is not one of ${issue.options.map((o) => `"${String(o)}"`).join(', ')}`;
    case 'invalid_literal':
      return `must be ${JSON.stringify(issue.expected)}`;
    case 'invalid_union':
      return `not a valid value (${issue.unionErrors
        .map((e) => e.issues[0]?.message)
        .filter(Boolean)
        .slice(0, 3)
        .join('; ')})`;
    case 'invalid_union_discriminator':
      // An optional discriminator (workload.kind, oai-pmh when absent) lists undefined too.
      return `must be one of ${issue.options
        .filter((o) => o !== undefined)
        .map((o) => JSON.stringify(o))
        .join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    default:
      return issue.message;
  }
}

/** The value at `path` in `input` (for "got ..."), or undefined. */
function valueAt(input: unknown, path: PathKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PathKey, unknown>)[k];
  }
  return v;
}

/**
 * The first issue as one line, "field: what is wrong (got VALUE)", and how many more there are
 * (for files without lines to point at, e.g. JSON written by the topology).
 */
export function issueLine(issues: readonly ZodIssue[], input: unknown): string {
  const first = issues[0];
  if (!first) return 'invalid';
  const got =
    first.code === 'too_big' ||
    first.code === 'too_small' ||
    first.code === 'not_multiple_of' ||
    first.code === 'invalid_string'
      ? valueAt(input, first.path)
      : undefined;
  const shown = got === undefined ? '' : ` (got ${JSON.stringify(got)?.slice(0, 60) ?? String(got)})`;
  const field = fieldName(first.path);
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return `${field ? `${field}: ` : ''}${issueMessage(first)}${shown}${more}`;
}
