// Expectations: "server.invalidDrops > 0" parsed against the metrics table, optionally under a
// kernel condition, and tested on a variant's result (what `expectations[]` in result.json holds).
import { kernelMatches, parseKernelCondition, type KernelCondition } from './kernel.js';
import { MATRIX_ONLY_METRICS, METRICS, metricRow, metricValue, type Metric, type MetricContext } from './metrics.js';
import type { ExpectationResult, VariantResult } from './types.js';

export interface Expectation {
  metric: Metric;
  /** contains and matches (a regular expression) compare a text metric (command.stdout, ...). */
  op: '==' | '!=' | '>' | '>=' | '<' | '<=' | 'contains' | 'matches';
  value: number | boolean | string;
  /** Original text, e.g. "server.invalidDrops > 0". */
  text: string;
  /** Tested only when the variant's kernel release meets this condition (absent: on every kernel). */
  kernel?: KernelCondition;
}

const EXPECTATION = /^\s*([a-zA-Z.]+)\s*(==|!=|>=|<=|>|<)\s*(true|false|-?\d+(?:\.\d+)?)\s*$/;

/** A text metric's expectation: `command.stdout contains "200 OK"`, `command.output matches "^HTTP/1\\.1 200"`. */
const TEXT_EXPECTATION = /^\s*([a-zA-Z.]+)\s+(contains|matches|==|!=)\s+("(?:[^"\\]|\\.)*"|'[^']*')\s*$/;

/** The longest `actual` a text metric's result keeps. */
export const TEXT_ACTUAL_CHARS = 200;

function parseTextExpectation(text: string): Expectation | string | undefined {
  const m = TEXT_EXPECTATION.exec(text);
  const row = m ? metricRow(m[1]!) : undefined;
  if (!m || !row) return undefined;
  const metric = row.name as Metric;
  if (!row.text) return `${metric} compares with a number${row.boolean ? ' (true or false)' : ''}, not a quoted text`;
  const quoted = m[3]!;
  let value: string;
  if (quoted.startsWith("'")) value = quoted.slice(1, -1);
  else {
    try {
      value = JSON.parse(quoted) as string;
    } catch {
      return `bad escape in ${quoted} (a double-quoted text takes JSON escapes, e.g. \\" and \\\\)`;
    }
  }
  const op = m[2] as Expectation['op'];
  if (op === 'matches') {
    try {
      new RegExp(value);
    } catch (e) {
      return `"${value}" is not a regular expression: ${(e as Error).message}`;
    }
  }
  return { metric, op, value, text: text.trim() };
}

/** Parse "server.invalidDrops > 0". Returns the expectation or an error message. */
export function parseExpectation(text: string): Expectation | string {
  const t = parseTextExpectation(text);
  if (t !== undefined) return t;
  const m = EXPECTATION.exec(text);
  if (!m) {
    const name = /^\s*([a-zA-Z.]+)/.exec(text)?.[1];
    const row = name ? metricRow(name) : undefined;
    if (row?.text)
      return `expectation "${text}" is not of the form "${row.name} contains|matches|==|!= <quoted text>", e.g. '${row.name} contains "200 OK"'`;
    return `expectation "${text}" is not of the form "<metric> <op> <value>", e.g. "server.invalidDrops > 0"`;
  }
  const row = metricRow(m[1]!);
  if (!row) return `unknown metric "${m[1]}" in "${text}" (known: ${METRICS.join(', ')})`;
  if (row.text) return `${row.name} is a text: compare it with contains, matches, == or != and a quoted text`;
  // A row of METRIC_TABLE: its name is a Metric (the row type widens it to string).
  const metric = row.name as Metric;
  const op = m[2] as Expectation['op'];
  const raw = m[3]!;
  const isBool = raw === 'true' || raw === 'false';
  if ((row.boolean === true) !== isBool) {
    return row.boolean
      ? `"${metric}" compares with true or false, not ${raw}`
      : `${metric} compares with a number, not ${raw}`;
  }
  if (isBool && op !== '==' && op !== '!=') return `"${metric}" takes == or !=, not ${op}`;
  return { metric, op, value: isBool ? raw === 'true' : Number(raw), text: text.trim() };
}

type PathKey = string | number;

/**
 * A variant's `expect` list → its expectations. A `{ kernel: "<6.1", expect: [...] }` entry
 * contributes its expectations with the condition attached (see checkExpectations()); a
 * matrix-only metric is refused (a run's variant has no control cell). Problems go to `bad` with
 * their path inside the list.
 */
export function parseVariantExpect(
  list: (string | { kernel: string; expect: string[] })[],
  bad: (path: PathKey[], message: string) => void,
): Expectation[] {
  const out: Expectation[] = [];
  const one = (text: string, path: PathKey[], kernel?: KernelCondition) => {
    const r = parseExpectation(text);
    if (typeof r === 'string') bad(path, r);
    else if (MATRIX_ONLY_METRICS.includes(r.metric)) {
      const instead = metricRow(r.metric)?.instead;
      bad(
        path,
        `${r.metric} compares with the matrix's control cell: use it in matrix.expect${instead ? ` (here, use ${instead})` : ''}`,
      );
    } else out.push(kernel ? { ...r, kernel } : r);
  };
  list.forEach((e, j) => {
    if (typeof e === 'string') return one(e, [j]);
    const k = parseKernelCondition(e.kernel);
    if (typeof k === 'string') return bad([j, 'kernel'], k);
    e.expect.forEach((x, m) => one(x, [j, 'expect', m], k));
  });
  return out;
}

/** Whether the measured value meets the expectation (true/false compare as 1/0). */
export function evaluate(e: Expectation, actual: number | boolean | string): boolean {
  if (typeof actual === 'string' || typeof e.value === 'string') {
    const a = String(actual);
    const b = String(e.value);
    switch (e.op) {
      case 'contains':
        return a.includes(b);
      case 'matches':
        return new RegExp(b, 'm').test(a);
      case '==':
        return a === b;
      case '!=':
        return a !== b;
      default:
        return false;
    }
  }
  const a = typeof actual === 'boolean' ? Number(actual) : actual;
  const b = typeof e.value === 'boolean' ? Number(e.value) : e.value;
  switch (e.op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    default:
      return false;
  }
}

/**
 * Test a variant's expectations. A kernel-conditional one is tested only when the variant's
 * kernel release meets its condition (the others are left out), and its text names the
 * condition and the release; with the release unknown it fails rather than guess.
 */
export function checkExpectations(
  v: VariantResult,
  expect: Expectation[],
  ctx: MetricContext = {},
): ExpectationResult[] {
  const out: ExpectationResult[] = [];
  for (const e of expect) {
    const applies = e.kernel ? kernelMatches(e.kernel, v.kernel) : true;
    if (applies === false) continue;
    const text = e.kernel
      ? `${e.text} (kernel ${e.kernel.text}: ${applies === null ? 'kernel release unknown' : v.kernel})`
      : e.text;
    const actual = applies === null ? null : metricValue(v, e.metric, ctx);
    out.push({
      text,
      passed: actual !== null && evaluate(e, actual),
      // A text is kept short: result.json is read by people and CI scripts, the whole is in the files.
      actual:
        typeof actual === 'string' && actual.length > TEXT_ACTUAL_CHARS
          ? `${actual.slice(0, TEXT_ACTUAL_CHARS)}…`
          : actual,
      ...(e.kernel ? { kernel: e.kernel.text } : {}),
    });
  }
  return out;
}
