// file → validated model. Every problem is reported as FILE:LINE:COL: field: what is wrong,
// before anything is started. Expectations are parsed by the result model (src/result/).
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { ZodIssue } from 'zod';
import { CtlabError } from '../errors.js';
import { cellName, matchAxis } from '../matrix/pattern.js';
import { parseExpectation, parseVariantExpect, type Expectation } from '../result/expectations.js';
import {
  BE_LIBERAL,
  type AxisPattern,
  type ClientModel,
  type ClientOverride,
  type LabAction,
  type MatrixModel,
  type MiddleboxProfile,
  type Scenario,
  type ServiceImage,
  type Sides,
  type VariantModel,
} from './model.js';
import { fieldName, issueMessage, type PathKey } from './issues.js';
import { PRESET_NAMES, PRESETS } from './presets.js';
import { scenarioSchema, type ScenarioFile } from './schema.js';
import { checkRulesLoad, readRules, rulesProblems, type RulesFormat, type RulesModel } from './rules.js';
import { checkSysctl, type KernelSysctls } from './sysctls.js';
import { checkServiceVip } from './vip.js';
import { resolveWorkload } from './workload.js';

export interface ScenarioProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted field path, e.g. "variants[1].sysctls". */
  field: string;
  message: string;
}

/** FILE:LINE:COL: field: message; a scenario given as an object has no lines (line 0): FILE: field: message. */
export function formatProblem(p: ScenarioProblem): string {
  return `${p.file}${p.line > 0 ? `:${p.line}:${p.col}` : ''}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

export class ScenarioError extends CtlabError {
  readonly problems: ScenarioProblem[];
  constructor(problems: ScenarioProblem[]) {
    const first = formatProblem(problems[0]!); // every caller passes at least one problem
    super(
      'SCENARIO',
      problems.length > 1
        ? `${first} (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`
        : first,
      {
        hint: problems.length > 1 ? problems.slice(1).map(formatProblem).join('\n       ') : undefined,
      },
    );
    this.problems = problems;
  }
}

/** A validated action (schema-checked) → the model's, with `at` in milliseconds. */
export function toAction(a: { at: string; node: LabAction['node']; do: LabAction['do'] }): LabAction {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(a.at)!;
  const atMs = Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
  return { atMs, node: a.node, do: a.do, text: `${a.do} on ${a.node} at ${a.at}` };
}

/** Find the YAML node for a path (or, for a missing key, its nearest existing parent). */
function locate(doc: Document, lc: LineCounter, path: PathKey[], key?: string): { line: number; col: number } {
  let offset = 0;
  for (let n = path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as YamlNode | undefined;
    if (node?.range) {
      offset = node.range[0];
      if (key !== undefined && n === path.length && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      }
      break;
    }
  }
  const pos = lc.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/** Where a field is: its line and column in the file (0, 0 for a scenario given as an object). */
type Locate = (path: PathKey[], key?: string) => { line: number; col: number };

function toProblems(file: string, where: Locate, issues: ZodIssue[]): ScenarioProblem[] {
  const out: ScenarioProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const at = where(issue.path, key);
        out.push({ file, ...at, field: fieldName([...issue.path, key]), message: 'unknown field' });
      }
      continue;
    }
    out.push({ file, ...where(issue.path), field: fieldName(issue.path), message: issueMessage(issue) });
  }
  return out;
}

function overrideSides<T extends { strip: Sides | 'all' }>(base: T, o: Partial<T> | undefined): T {
  return o ? { ...base, ...o } : base;
}

function buildProfile(m: ScenarioFile['middlebox'], name = m.preset): MiddleboxProfile {
  const base = PRESETS[m.preset]!; // the schema admits only PRESETS' names
  return {
    name,
    isn: m.isn ?? base.isn,
    sackTranslation: m.sackTranslation ?? base.sackTranslation,
    ...(m.fixedOffsets
      ? { fixedOffsets: m.fixedOffsets }
      : base.fixedOffsets
        ? { fixedOffsets: base.fixedOffsets }
        : {}),
    options: {
      sackPermitted: overrideSides(base.options.sackPermitted, m.options?.sackPermitted),
      windowScale: overrideSides(base.options.windowScale, m.options?.windowScale),
      timestamps: overrideSides(base.options.timestamps, m.options?.timestamps),
    },
  };
}

/** Validate a scenario given as text. `file` is used in messages and as Scenario.file. */
/** How far to check: `kernel` checks sysctl names and values against that kernel's answers. */
export interface LoadOptions {
  kernel?: KernelSysctls;
  /** Folder relative paths in the scenario (server.firewall.rules) start from (default: the file's folder). */
  baseDir?: string;
}

export function parseScenario(text: string, file: string, opts: LoadOptions = {}): Scenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          col: pos.col,
          field: '',
          message: `YAML syntax error: ${e.message.split('\n')[0]}`,
        };
      }),
    );
  }
  return validateScenario(doc.toJS(), file, (path, key) => locate(doc, lc, path, key), opts);
}

/**
 * A scenario given as an object (the file's shape, e.g. built in a test), validated exactly like
 * a file: problems name `label` and the field path (there are no lines).
 */
export function parseScenarioObject(raw: unknown, label: string, opts: LoadOptions = {}): Scenario {
  return validateScenario(raw, label, () => ({ line: 0, col: 0 }), {
    ...opts,
    baseDir: opts.baseDir ?? process.cwd(),
  });
}

/** The file's content (parsed YAML, or an object of its shape) → the model: the schema, then every other check. */
function validateScenario(raw: unknown, file: string, where: Locate, opts: LoadOptions): Scenario {
  const kernel = opts.kernel;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ScenarioError([
      {
        file,
        ...where([]),
        field: '',
        message: 'a scenario is a YAML mapping (name, path, middlebox, server, workload, variants, ...)',
      },
    ]);
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) throw new ScenarioError(toProblems(file, where, parsed.error.issues));
  const s = parsed.data;

  // Checks the schema cannot express: sysctl names and values, expectations, unique names,
  // loss that can be applied at all.
  const problems: ScenarioProblem[] = [];
  const at = (path: PathKey[], message: string, key?: string) =>
    problems.push({ file, ...where(path, key), field: fieldName(key ? [...path, key] : path), message });
  const workload = resolveWorkload(s.workload, at);
  // An action after the harvest's time limit could never run.
  const checkAction = (a: LabAction, path: PathKey[]) => {
    if (a.atMs >= s.workload.maxDurationMs)
      at(
        [...path, 'at'],
        `${a.atMs} ms is not before workload.maxDurationMs (${s.workload.maxDurationMs} ms): the action would never run`,
      );
  };
  // The user's rulesets: each must exist, and its nft base chains must sit between ctlab's
  // counting chains (checking that it loads needs a namespace: checkRulesLoad, before a run).
  const readRulesAt = (path: PathKey[], given: string, format: RulesFormat | undefined): RulesModel | undefined => {
    const r = readRules(given, opts.baseDir ?? dirname(resolve(file)), format);
    if (typeof r === 'string') {
      at(path, r);
      return undefined;
    }
    for (const problem of rulesProblems(r)) at(path, problem);
    return r;
  };
  const rules =
    s.server.firewall.rules === undefined
      ? undefined
      : readRulesAt(['server', 'firewall', 'rules'], s.server.firewall.rules, s.server.firewall.format);
  const clientFw = s.client?.firewall;
  const clientRules = clientFw
    ? readRulesAt(['client', 'firewall', 'rules'], clientFw.rules, clientFw.format)
    : undefined;
  // The client's ruleset replaces ctlab's INVALID rule there: asking for both is a mistake.
  const noDropInvalid = `does nothing with client.firewall.rules (${clientFw?.rules}): the ruleset decides`;
  if (clientFw && s.client?.dropInvalid) at(['client', 'dropInvalid'], noDropInvalid);
  for (const [k, v] of Object.entries(s.server.sysctls)) {
    const err = checkSysctl(k, v, kernel);
    if (err) at(['server', 'sysctls'], err, k);
  }
  if (s.client) {
    for (const [k, v] of Object.entries(s.client.sysctls)) {
      const err = checkSysctl(k, v, kernel);
      if (err) at(['client', 'sysctls'], err, k);
    }
    const vipErr = s.client.serviceVip === undefined ? undefined : checkServiceVip(s.client.serviceVip);
    if (vipErr) at(['client', 'serviceVip'], vipErr);
  }
  if (s.client?.image && s.workload.kind !== 'command')
    at(
      ['client', 'image'],
      `a client image runs the command workload (workload.kind: command), not ${s.workload.kind ?? 'oai-pmh'}: ctlab's own client runs in the client node`,
    );
  if (!s.variants && !s.matrix) {
    at(
      ['variants'],
      'required (array): a scenario needs at least one variant (usually the flag off and on), or a matrix',
    );
  }
  const names = new Set<string>();
  const variantExpect: Expectation[][] = [];
  (s.variants ?? []).forEach((v, i) => {
    if (names.has(v.name)) at(['variants', i, 'name'], `duplicate variant name "${v.name}"`);
    names.add(v.name);
    for (const [k, val] of Object.entries(v.sysctls)) {
      const err = checkSysctl(k, val, kernel);
      if (err) at(['variants', i, 'sysctls'], err, k);
    }
    for (const [k, val] of Object.entries(v.client?.sysctls ?? {})) {
      const err = checkSysctl(k, val, kernel);
      if (err) at(['variants', i, 'client', 'sysctls'], err, k);
    }
    if (clientFw && v.client?.dropInvalid !== undefined) at(['variants', i, 'client', 'dropInvalid'], noDropInvalid);
    const vip = v.client?.serviceVip;
    const vipErr = vip === undefined || vip === 'none' ? undefined : checkServiceVip(vip);
    if (vipErr) at(['variants', i, 'client', 'serviceVip'], vipErr);
    variantExpect[i] = parseVariantExpect(v.expect, (p, message) => at(['variants', i, 'expect', ...p], message));
    v.actions?.forEach((a, j) => checkAction(toAction(a), ['variants', i, 'actions', j]));
  });
  s.actions.forEach((a, j) => checkAction(toAction(a), ['actions', j]));
  if (s.path.reorder.rate > 0 && s.path.reorder.extraDelayMs === 0)
    at(['path', 'reorder', 'extraDelayMs'], 'reordering needs extraDelayMs > 0');
  if (s.path.late && !s.path.late.clientAcks && !s.path.late.serverData)
    at(['path', 'late'], 'late needs clientAcks or serverData (or remove it)');
  const matrix = s.matrix ? checkMatrix(s, at, kernel) : undefined;
  if (problems.length > 0) throw new ScenarioError(problems);

  const loss: Scenario['path']['loss'] =
    s.path.loss === 'none'
      ? { kind: 'none' }
      : 'rate' in s.path.loss
        ? { kind: 'rate', rate: s.path.loss.rate, direction: s.path.loss.direction }
        : { kind: 'every-nth', n: s.path.loss.everyNth, direction: s.path.loss.direction };

  return {
    name: s.name ?? basename(file).replace(/\.ya?ml$/i, ''),
    description: s.description.trim(),
    file,
    seed: s.seed,
    repetitions: s.repetitions,
    path: {
      delayMs: s.path.delayMs,
      rateMbit: s.path.rateMbit,
      loss,
      reorder: s.path.reorder,
      ...(s.path.late ? { late: s.path.late } : {}),
    },
    middlebox: buildProfile(s.middlebox),
    server: {
      sysctls: s.server.sysctls,
      ...(s.server.image ? { image: toImage(s.server.image) as ServiceImage & { port: number } } : {}),
      firewall: {
        dropInvalid: s.server.firewall.dropInvalid,
        backend: s.server.firewall.backend,
        policy: s.server.firewall.policy,
        ...(rules ? { rules } : {}),
      },
    },
    ...(s.client
      ? {
          client: {
            ...(s.client.serviceVip ? { serviceVip: s.client.serviceVip } : {}),
            dropInvalid: s.client.dropInvalid,
            sysctls: s.client.sysctls,
            ...(s.client.image ? { image: toImage(s.client.image) } : {}),
            ...(clientRules && clientFw ? { firewall: { rules: clientRules, backend: clientFw.backend } } : {}),
          },
        }
      : {}),
    workload,
    variants: (s.variants ?? []).map((v, i) => ({
      name: v.name,
      sysctls: v.sysctls,
      ...(v.client ? { client: toClientOverride(v.client) } : {}),
      expect: variantExpect[i]!, // variantExpect has one entry per variant
      ...(v.actions ? { actions: v.actions.map(toAction) } : {}),
    })),
    ...(s.actions.length > 0 ? { actions: s.actions.map(toAction) } : {}),
    ...(matrix ? { matrix } : {}),
  };
}

/** A validated `server.image` or `client.image` → the model's (only the fields given). */
function toImage(i: ServiceImage): ServiceImage {
  return {
    name: i.name,
    ...(i.env ? { env: i.env } : {}),
    ...(i.command ? { command: i.command } : {}),
    ...(i.port !== undefined ? { port: i.port } : {}),
    ...(i.ready ? { ready: i.ready } : {}),
    startupTimeoutMs: i.startupTimeoutMs,
  };
}

/** A validated variant `client` → the model's (`serviceVip: none` → null: no NAT). */
function toClientOverride(c: {
  serviceVip?: string;
  dropInvalid?: boolean;
  sysctls?: Record<string, string>;
}): ClientOverride {
  return {
    ...(c.serviceVip !== undefined ? { serviceVip: c.serviceVip === 'none' ? null : c.serviceVip } : {}),
    ...(c.dropInvalid !== undefined ? { dropInvalid: c.dropInvalid } : {}),
    ...(c.sysctls ? { sysctls: c.sysctls } : {}),
  };
}

type At = (path: PathKey[], message: string, key?: string) => void;

const asPattern = (p: string | string[]): AxisPattern => (typeof p === 'string' ? [p] : p);

/**
 * The matrix's checks: preset names, sysctls, every pattern matching some axis value (a typo
 * would otherwise silently match nothing), the control cell, expectations, at least one cell.
 */
function checkMatrix(s: ScenarioFile, at: At, kernel?: KernelSysctls): MatrixModel | undefined {
  const m = s.matrix!; // the one caller calls it only when s.matrix is set
  const base = ['matrix'] as PathKey[];
  const fwAxis = m.axes.firewall;
  const firewalls: MatrixModel['firewalls'] = [];
  if (fwAxis === undefined) {
    // No firewall axis: the scenario's own middlebox is the one value.
    firewalls.push({ name: s.middlebox.preset, profile: buildProfile(s.middlebox) });
  } else if (Array.isArray(fwAxis)) {
    fwAxis.forEach((name, i) => {
      if (!PRESETS[name])
        at(
          [...base, 'axes', 'firewall', i],
          `"${name}" is not a middlebox preset (${PRESET_NAMES.join(', ')}); name a profile with overrides as "name: { preset: ..., ... }"`,
        );
      else if (firewalls.some((f) => f.name === name))
        at([...base, 'axes', 'firewall', i], `"${name}" is listed twice`);
      else firewalls.push({ name, profile: buildProfile({ preset: name }) });
    });
  } else {
    for (const [name, spec] of Object.entries(fwAxis)) firewalls.push({ name, profile: buildProfile(spec, name) });
  }
  const servers: MatrixModel['servers'] = [];
  if (m.axes.server === undefined) {
    if (!s.variants)
      at([...base, 'axes'], 'needs a server axis (named server configurations) when the scenario has no variants');
    for (const v of s.variants ?? []) servers.push({ name: v.name, sysctls: v.sysctls, firewall: {} });
  } else {
    const entries = Object.entries(m.axes.server);
    if (entries.length === 0) at([...base, 'axes', 'server'], 'at least one server configuration');
    for (const [name, cfg] of entries) {
      // ctlab's firewall options mean nothing once the scenario loads its own ruleset.
      for (const k of ['dropInvalid', 'policy'] as const)
        if (s.server.firewall.rules !== undefined && cfg.firewall?.[k] !== undefined)
          at(
            [...base, 'axes', 'server', name, 'firewall', k],
            `does nothing with server.firewall.rules (${s.server.firewall.rules}): the ruleset decides`,
          );
      for (const [k, v] of Object.entries(cfg.sysctls)) {
        const err = checkSysctl(k, v, kernel);
        if (err) at([...base, 'axes', 'server', name, 'sysctls'], err, k);
      }
      servers.push({ name, sysctls: cfg.sysctls, firewall: { ...cfg.firewall } });
    }
  }
  const fwNames = firewalls.map((f) => f.name);
  const srvNames = servers.map((x) => x.name);
  const checkPattern = (path: PathKey[], p: string | string[], axis: 'firewall' | 'server') => {
    const known = axis === 'firewall' ? fwNames : srvNames;
    asPattern(p).forEach((g, i) => {
      if (!known.some((n) => matchAxis([g], n)))
        at(typeof p === 'string' ? path : [...path, i], `"${g}" matches no ${axis} (${axis}s: ${known.join(', ')})`);
    });
  };
  m.exclude.forEach((x, i) => {
    checkPattern([...base, 'exclude', i, 'firewall'], x.firewall, 'firewall');
    checkPattern([...base, 'exclude', i, 'server'], x.server, 'server');
  });
  const exclude = m.exclude.map((x) => ({ firewall: asPattern(x.firewall), server: asPattern(x.server) }));
  const excluded = (f: string, v: string) => exclude.some((x) => matchAxis(x.firewall, f) && matchAxis(x.server, v));
  const cells = new Set<string>();
  for (const f of fwNames) {
    for (const v of srvNames) {
      if (excluded(f, v)) continue;
      const c = cellName(f, v);
      if (cells.has(c)) at([...base, 'axes'], `two cells would both be named "${c}"; rename an axis value`);
      cells.add(c);
    }
  }
  if (cells.size === 0 && fwNames.length > 0 && srvNames.length > 0) at([...base, 'exclude'], 'excludes every cell');
  if (m.control) {
    if (!fwNames.includes(m.control.firewall))
      at(
        [...base, 'control', 'firewall'],
        `"${m.control.firewall}" is not a firewall of the matrix (${fwNames.join(', ')})`,
      );
    else if (!srvNames.includes(m.control.server))
      at(
        [...base, 'control', 'server'],
        `"${m.control.server}" is not a server configuration of the matrix (${srvNames.join(', ')})`,
      );
    else if (excluded(m.control.firewall, m.control.server)) at([...base, 'control'], 'the control cell is excluded');
  }
  const rules: MatrixModel['expect'] = [];
  m.expect.forEach((r, i) => {
    checkPattern([...base, 'expect', i, 'firewall'], r.firewall, 'firewall');
    checkPattern([...base, 'expect', i, 'server'], r.server, 'server');
    const parsed: Expectation[] = [];
    r.expect.forEach((e, j) => {
      const x = parseExpectation(e);
      if (typeof x === 'string') at([...base, 'expect', i, 'expect', j], x);
      else parsed.push(x);
    });
    rules.push({ firewall: asPattern(r.firewall), server: asPattern(r.server), expect: parsed, why: r.why.trim() });
  });
  return { firewalls, servers, exclude, ...(m.control ? { control: m.control } : {}), expect: rules };
}

/** Read and validate a scenario file. */
export function loadScenario(path: string, opts: LoadOptions = {}): Scenario {
  const file = resolve(path);
  let text: string;
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CtlabError(
      'SCENARIO',
      `cannot read scenario ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      {
        hint: 'give the path of a YAML file, e.g. scenarios/harvester-asa.yaml',
      },
    );
  }
  return parseScenario(text, path, opts);
}

/** The mid-run actions a variant runs with: its own if it names any (even none), else the scenario's. */
export function variantActions(s: Scenario, v: VariantModel): LabAction[] {
  return v.actions ?? s.actions ?? [];
}

/** The server sysctls a variant runs with: scenario's, then the variant's over them. */
export function variantSysctls(s: Scenario, variantName: string): Record<string, string> {
  const v = s.variants.find((x) => x.name === variantName);
  if (!v) throw new CtlabError('SCENARIO', `no variant "${variantName}" in ${s.file}`);
  const merged: Record<string, string> = {
    [BE_LIBERAL]: '0',
    'net.netfilter.nf_conntrack_log_invalid': '6',
    ...s.server.sysctls,
    ...v.sysctls,
  };
  return merged;
}

/**
 * The client a variant runs with: the scenario's `client`, then the variant's changes over it.
 * Undefined for a plain client (no NAT, no INVALID rule, no ruleset, no sysctls): nothing to set
 * up. With NAT, the INVALID rule or a ruleset, the client's conntrack runs, so its be_liberal is pinned to 0 unless
 * set (a run never inherits the host's) and its INVALID reasons are logged (NFLOG group 0).
 */
export function variantClient(s: Scenario, v: VariantModel): ClientModel | undefined {
  const o = v.client ?? {};
  const vip = o.serviceVip === null ? undefined : (o.serviceVip ?? s.client?.serviceVip);
  const dropInvalid = o.dropInvalid ?? s.client?.dropInvalid ?? false;
  const given = { ...s.client?.sysctls, ...o.sysctls };
  const firewall = s.client?.firewall;
  if (!vip && !dropInvalid && !firewall && Object.keys(given).length === 0) return undefined;
  const sysctls =
    vip || dropInvalid || firewall
      ? { [BE_LIBERAL]: '0', 'net.netfilter.nf_conntrack_log_invalid': '6', ...given }
      : given;
  return { ...(vip ? { serviceVip: vip } : {}), dropInvalid, sysctls, ...(firewall ? { firewall } : {}) };
}

/** The scenario's own rulesets with their backends and the field each came from. */
function scenarioRulesets(s: Scenario): { field: string; rules: RulesModel; backend: 'nft' | 'legacy' }[] {
  return [
    ...(s.server.firewall.rules
      ? [{ field: 'server.firewall.rules', rules: s.server.firewall.rules, backend: s.server.firewall.backend }]
      : []),
    ...(s.client?.firewall ? [{ field: 'client.firewall.rules', ...s.client.firewall }] : []),
  ];
}

/**
 * Test-load the scenario's own rulesets (server and client), if it has any, in a throwaway
 * network namespace: a file that does not load throws (exit 2, naming the field, the file, the
 * line and the tool's words). Returns what could not be checked (e.g. without root), for the
 * caller to print.
 */
export async function checkScenarioRules(s: Scenario): Promise<string[]> {
  const skipped: string[] = [];
  for (const r of scenarioRulesets(s)) {
    const c = await checkRulesLoad(r.rules, r.backend, r.field);
    if (!c.checked) skipped.push(c.why);
  }
  return skipped;
}

/**
 * Files a scenario reads besides itself, for a VM job that carries the scenario to /job/scenario.yaml:
 * name under /job (the path as the scenario gives it) → file here. Only paths below the
 * scenario's folder can be carried that way.
 */
export function scenarioInputFiles(s: Scenario): Record<string, string> {
  const files: Record<string, string> = {};
  for (const { field, rules: r } of scenarioRulesets(s)) {
    if (r.given.startsWith('/') || r.given.split('/').includes('..'))
      throw new CtlabError(
        'SCENARIO',
        `${s.file}: ${field}: with --kernel the rules file must be a relative path below the scenario's folder, not ${r.given}`,
      );
    files[r.given] = r.path;
  }
  return files;
}
