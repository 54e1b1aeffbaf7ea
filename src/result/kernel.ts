// Kernel releases as versions: the one parse and comparison of releases (sorting runs by kernel,
// the report's kernel notes, tests), and the conditions kernel-conditional expectations carry
// (`{ kernel: "<6.1", expect: [...] }`): conntrack's verdicts differ between releases, so the
// same scenario can rightly expect INVALID drops on 5.10 and none on 6.1+.

/** A condition on the kernel release, e.g. "<6.1" or ">=5.15 <6.1". */
export interface KernelCondition {
  /** As written, normalised: "< 6.1", ">= 5.15, < 6.1". */
  text: string;
  /** All must hold. A version is compared on as many parts as it names ("6.1" covers 6.1.x). */
  clauses: { op: '==' | '!=' | '>' | '>=' | '<' | '<='; version: number[] }[];
}

type Op = KernelCondition['clauses'][number]['op'];

/** "5.10.0-35-cloud-amd64" → [5, 10, 0], "6.1" → [6, 1]; null when it does not start with a number. */
export function parseKernelVersion(release: string): number[] | null {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(release.trim());
  if (!m) return null;
  return m
    .slice(1)
    .filter((x): x is string => x !== undefined)
    .map(Number);
}

/** Compare parts, missing ones as 0, on the first `n` parts (all when undefined). */
function cmp(a: number[], b: number[], n = Math.max(a.length, b.length)): number {
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Order two releases by version: < 0, 0, > 0. Throws on a release that has no version. */
export function compareKernelVersions(a: string, b: string): number {
  const x = parseKernelVersion(a);
  const y = parseKernelVersion(b);
  if (!x || !y) throw new RangeError(`not a kernel release: ${JSON.stringify(x ? b : a)}`);
  return cmp(x, y);
}

/**
 * The same order for sorting and filtering what a run reports, where a release may be unknown:
 * a release without a version counts as 0.0.0 (sorts first) instead of throwing.
 */
export function byKernelVersion(a: string, b: string): number {
  return cmp(parseKernelVersion(a) ?? [], parseKernelVersion(b) ?? []);
}

const CLAUSE = /^(<=|>=|==|!=|<|>)?\s*(\d+(?:\.\d+){0,2})$/;
const FORM =
  'a kernel condition is one or more comparisons with a release, e.g. "<6.1", ">=6.1" or ">=5.15 <6.1" (ops <, <=, >, >=, ==, !=)';

/** Parse "<6.1", ">= 5.15, <6.1", "6.1" (== 6.1). Returns the condition or an error message. */
export function parseKernelCondition(text: string): KernelCondition | string {
  // Clauses are separated by commas or spaces; an operator may be followed by spaces.
  const tokens = text
    .trim()
    .replace(/(<=|>=|==|!=|<|>)\s+/g, '$1')
    .split(/\s*,\s*|\s+/);
  if (tokens.length === 0 || tokens.some((t) => t === '')) return `kernel condition "${text}": ${FORM}`;
  const clauses: KernelCondition['clauses'] = [];
  for (const t of tokens) {
    const m = CLAUSE.exec(t);
    if (!m) return `kernel condition "${text}": cannot read "${t}"; ${FORM}`;
    clauses.push({ op: (m[1] ?? '==') as Op, version: m[2]!.split('.').map(Number) });
  }
  return { text: clauses.map((c) => `${c.op} ${c.version.join('.')}`).join(', '), clauses };
}

/**
 * Whether `release` meets the condition. Each clause compares on as many parts as its version
 * names, so "<=6.1" covers 6.1.192 and "<6.1" does not. null when the release is unknown: the
 * caller must not guess which expectations apply.
 */
export function kernelMatches(c: KernelCondition, release: string): boolean | null {
  const v = parseKernelVersion(release);
  if (!v) return null;
  return c.clauses.every(({ op, version }) => {
    const d = cmp(v, version, version.length);
    switch (op) {
      case '<':
        return d < 0;
      case '<=':
        return d <= 0;
      case '>':
        return d > 0;
      case '>=':
        return d >= 0;
      case '==':
        return d === 0;
      case '!=':
        return d !== 0;
    }
  });
}
