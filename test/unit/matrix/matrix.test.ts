// The matrix's pure parts: scenario validation (file:line), axis expansion, pattern matching of
// expectations, control selection, result building, verdict and rendering.
import { describe, expect, it } from 'vitest';
import { cellExpectations, expandMatrix, selectControl } from '../../../src/matrix/cells.js';
import { globMatch, matchAxis } from '../../../src/matrix/pattern.js';
import { cellList, cellText, failureLines, gridTable } from '../../../src/matrix/render.js';
import { renderMatrixHtml, renderMatrixMarkdown } from '../../../src/matrix/report.js';
import { cellResult, matrixVerdict, type CellRun, type MatrixResult } from '../../../src/matrix/result.js';
import type { VariantResult } from '../../../src/result/types.js';
import { parseSysctlOutput } from '../../../src/measure/parse.js';
import { loadScenario, parseScenario, ScenarioError } from '../../../src/scenario/load.js';
import { runResult, variantResult } from '../result/variant.js';
import { FAKE_KERNEL } from '../scenario/fake-kernel.js';

const base = `name: m
seed: 3
server:
  sysctls: { net.netfilter.nf_conntrack_log_invalid: 6 }
  firewall: { dropInvalid: true, backend: nft }
workload: { records: 500 }
`;

const matrix = `${base}matrix:
  axes:
    firewall: [asa, asa+lb-strip-sack, transparent]
    server:
      flag-off: { sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 0 } }
      flag-on: { sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 } }
      no-rule: { firewall: { dropInvalid: false } }
  exclude:
    - { firewall: transparent, server: [flag-on, no-rule] }
  expect:
    - { firewall: asa, server: flag-off, expect: [server.invalidDrops > 0, attempts.timedOut > 0], why: untranslated SACK }
    - { firewall: "*", server: flag-on, expect: [complete == true, server.invalidDrops == 0] }
    - { firewall: "asa*", server: "*", expect: [server.invalidDrops >= 0, complete == true] }
`;

function problems(text: string) {
  try {
    parseScenario(text, 'm.yaml', { kernel: FAKE_KERNEL });
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).problems.map((p) => `${p.line} ${p.field}: ${p.message}`);
  }
  throw new Error('expected a ScenarioError');
}

describe('patterns', () => {
  it('matches globs over whole names, "+" and "." literally', () => {
    expect(globMatch('*', 'asa+lb-strip-sack')).toBe(true);
    expect(globMatch('asa*', 'asa+lb-strip-sack')).toBe(true);
    expect(globMatch('asa', 'asa+lb-strip-sack')).toBe(false);
    expect(globMatch('asa+lb-strip-sack', 'asa+lb-strip-sack')).toBe(true);
    expect(globMatch('asa+lb', 'asaalb')).toBe(false);
    expect(globMatch('*-sack', 'asa-sack-translated')).toBe(false);
    expect(globMatch('flag-o?', 'flag-on')).toBe(true);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(matchAxis(['transparent', 'asa'], 'asa')).toBe(true);
    expect(matchAxis(['transparent', 'asa'], 'asa-no-randomization')).toBe(false);
  });
});

describe('matrix validation', () => {
  it('loads a matrix and keeps scenarios without one unchanged', () => {
    const s = parseScenario(matrix, 'm.yaml');
    expect(s.variants).toEqual([]);
    expect(s.matrix!.firewalls.map((f) => f.name)).toEqual(['asa', 'asa+lb-strip-sack', 'transparent']);
    expect(s.matrix!.firewalls[1]!.profile.options.sackPermitted.strip).toBe('syn');
    expect(s.matrix!.servers.map((x) => x.name)).toEqual(['flag-off', 'flag-on', 'no-rule']);
    expect(s.matrix!.servers[2]!.firewall).toEqual({ dropInvalid: false });
    expect(s.matrix!.expect[0]).toMatchObject({ firewall: ['asa'], server: ['flag-off'], why: 'untranslated SACK' });
    expect(loadScenario('scenarios/harvester-asa.yaml').matrix).toBeUndefined();
  });

  it('loads the shipped matrix scenario with its control', () => {
    const s = loadScenario('scenarios/harvester-asa-matrix.yaml');
    const cells = expandMatrix(s);
    expect(cells.length).toBeGreaterThanOrEqual(9);
    for (const name of [
      'asa--flag-off',
      'asa--flag-on',
      'asa--sack-off',
      'asa--no-invalid-rule',
      'asa-sack-translated--flag-off',
      'asa-no-randomization--flag-off',
      'asa+lb-strip-sack--flag-off',
      'asa+lb-strip-wscale--flag-off',
      'transparent--flag-off',
    ]) {
      const c = cells.find((x) => x.name === name);
      expect(c, name).toBeDefined();
      expect(c!.expect.length, name).toBeGreaterThan(0);
    }
    expect(selectControl(s, cells)?.name).toBe('transparent--flag-off');
  });

  it('reports every matrix mistake with its line', () => {
    const p = problems(`${base}matrix:
  axes:
    firewall: [asa, cisco-pix]
    server:
      off: { sysctls: { net.ipv4.tcp_sackk: 0 } }
      on: { sysctl: {} }
  control: { firewall: transparent, server: off }
  expect:
    - { firewall: asa, server: [off, of*f, nope], expect: [server.invalidDrops >> 0] }
    - { firewall: fw*, expect: [] }
`);
    expect(p).toEqual([
      expect.stringMatching(/^12 matrix\.axes\.server\.on\.sysctl: unknown field/),
      expect.stringMatching(/^16 matrix\.expect\[1\]\.expect: a rule needs at least one expectation/),
    ]);
    // Schema problems come first; once the shape is right, the semantic checks point at lines.
    const q = problems(`${base}matrix:
  axes:
    firewall: [asa, cisco-pix]
    server:
      off: { sysctls: { net.ipv4.tcp_sackk: 0 } }
  control: { firewall: transparent, server: off }
  expect:
    - { firewall: asa, server: [off, nope], expect: [server.invalidDrops >> 0] }
    - { firewall: fw*, expect: [complete == true] }
`);
    expect(q).toEqual([
      expect.stringMatching(/^9 matrix\.axes\.firewall\[1\]: "cisco-pix" is not a middlebox preset/),
      expect.stringMatching(
        /^11 matrix\.axes\.server\.off\.sysctls\.net\.ipv4\.tcp_sackk: unknown sysctl .*did you mean net\.ipv4\.tcp_sack or net\.ipv4\.tcp_dsack\?$/,
      ),
      expect.stringMatching(/^12 matrix\.control\.firewall: "transparent" is not a firewall of the matrix \(asa\)/),
      expect.stringMatching(/^14 matrix\.expect\[0\]\.server\[1\]: "nope" matches no server \(servers: off\)/),
      expect.stringMatching(/^14 matrix\.expect\[0\]\.expect\[0\]: .*not of the form/),
      expect.stringMatching(/^15 matrix\.expect\[1\]\.firewall: "fw\*" matches no firewall/),
    ]);
  });

  it('needs variants or a server axis, rejects an excluded control and a matrix that excludes everything', () => {
    expect(problems(`${base}matrix:\n  axes: { firewall: [asa] }\n`)).toEqual([
      expect.stringMatching(/^8 matrix\.axes: needs a server axis/),
    ]);
    expect(problems(`${base}`)).toEqual([expect.stringMatching(/^1 variants: required/)]);
    expect(
      problems(`${base}matrix:
  axes: { firewall: [asa, transparent], server: { off: {} } }
  exclude: [{ firewall: "*" }]
  control: { firewall: asa, server: off }
`),
    ).toEqual([
      expect.stringMatching(/^9 matrix\.exclude: excludes every cell/),
      expect.stringMatching(/^10 matrix\.control: the control cell is excluded/),
    ]);
  });

  it('takes the variants as the server axis, and the scenario middlebox as the firewall axis', () => {
    const s = parseScenario(
      `${base}middlebox: { preset: asa }
variants:
  - { name: off, sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 0 }, expect: [records > 0] }
  - { name: on, sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 } }
matrix:
  axes: {}
`,
      'm.yaml',
    );
    const cells = expandMatrix(s);
    expect(cells.map((c) => c.name)).toEqual(['asa--off', 'asa--on']);
    // A variant's own expectations do not leak into the matrix (they were written for one firewall).
    expect(cells[0]!.expect).toEqual([]);
    expect(selectControl(s, cells)).toBeUndefined();
  });
});

describe('axis expansion', () => {
  const s = parseScenario(matrix, 'm.yaml');
  const cells = expandMatrix(s);

  it('crosses the axes firewall-major, minus exclusions', () => {
    expect(cells.map((c) => c.name)).toEqual([
      'asa--flag-off',
      'asa--flag-on',
      'asa--no-rule',
      'asa+lb-strip-sack--flag-off',
      'asa+lb-strip-sack--flag-on',
      'asa+lb-strip-sack--no-rule',
      'transparent--flag-off',
    ]);
  });

  it('derives a one-variant scenario per cell with the firewall profile and merged server settings', () => {
    const c = cells.find((x) => x.name === 'asa--no-rule')!;
    expect(c.scenario.variants).toHaveLength(1);
    expect(c.scenario.variants[0]!.name).toBe('asa--no-rule');
    expect(c.scenario.middlebox).toMatchObject({
      name: 'asa',
      isn: { client: true, server: true },
      sackTranslation: false,
    });
    expect(c.scenario.server).toEqual({
      sysctls: { 'net.netfilter.nf_conntrack_log_invalid': '6' },
      firewall: { dropInvalid: false, backend: 'nft', policy: 'drop' },
    });
    expect(c.scenario.matrix).toBeUndefined();
    expect(c.scenario.workload).toMatchObject({ kind: 'oai-pmh', records: 500 });
    const on = cells.find((x) => x.name === 'asa+lb-strip-sack--flag-on')!;
    expect(on.scenario.variants[0]!.sysctls).toEqual({ 'net.netfilter.nf_conntrack_tcp_be_liberal': '1' });
    expect(on.scenario.server.firewall).toEqual({ dropInvalid: true, backend: 'nft', policy: 'drop' });
    // The source scenario is not modified.
    expect(s.matrix).toBeDefined();
    expect(s.middlebox.name).toBe('transparent');
  });

  it('gives each cell the lines of every matching rule, each once', () => {
    const texts = (name: string) => cells.find((c) => c.name === name)!.expect.map((e) => e.text);
    expect(texts('asa--flag-off')).toEqual([
      'server.invalidDrops > 0',
      'attempts.timedOut > 0',
      'server.invalidDrops >= 0',
      'complete == true',
    ]);
    expect(texts('asa--flag-on')).toEqual(['complete == true', 'server.invalidDrops == 0', 'server.invalidDrops >= 0']);
    expect(texts('transparent--flag-off')).toEqual([]);
    expect(cellExpectations(s.matrix!, 'asa', 'flag-off')[0]!.why).toBe('untranslated SACK');
  });
});

describe('control selection', () => {
  it('uses the declared control', () => {
    const s = parseScenario(`${matrix}  control: { firewall: asa, server: flag-on }\n`, 'm.yaml');
    expect(selectControl(s, expandMatrix(s))?.name).toBe('asa--flag-on');
  });
  it('otherwise takes the first cell whose firewall rewrites nothing, flag off preferred', () => {
    const s = parseScenario(
      matrix
        .replace('firewall: [asa, asa+lb-strip-sack, transparent]', 'firewall: [asa, transparent]')
        .replace(/ {2}exclude:\n.*\n/, ''),
      'm.yaml',
    );
    // flag-on comes first on the axis, but the unmitigated server is the baseline.
    const swapped = {
      ...s,
      matrix: { ...s.matrix!, servers: [s.matrix!.servers[1]!, s.matrix!.servers[0]!, s.matrix!.servers[2]!] },
    };
    expect(selectControl(swapped, expandMatrix(swapped))?.name).toBe('transparent--flag-off');
    const noPlain = parseScenario(
      matrix.replace('transparent]', 'asa-no-randomization]').replace(/transparent/g, 'asa-no-randomization'),
      'm.yaml',
    );
    // asa-no-randomization rewrites nothing either (no offsets, no option touched).
    expect(selectControl(noPlain, expandMatrix(noPlain))?.name).toBe('asa-no-randomization--flag-off');
    const none = parseScenario(
      matrix
        .replace('[asa, asa+lb-strip-sack, transparent]', '[asa, asa+lb-strip-sack]')
        .replace(/ {2}exclude:\n.*\n/, ''),
      'm.yaml',
    );
    expect(selectControl(none, expandMatrix(none))).toBeUndefined();
  });
});

// A measured-looking cell result, varied per test.
function variant(
  name: string,
  o: { records?: number; complete?: boolean; timedOut?: number; drops?: number; ctInvalid?: number; thr?: number } = {},
): VariantResult {
  const records = o.records ?? 500;
  return variantResult({
    name,
    seed: 3,
    kernel: '6.18.0',
    sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '0' },
    serverSettings: { 'net.ipv4.tcp_sack': '1', 'net.ipv4.tcp_congestion_control': 'cubic' },
    harvest: { records, expectedRecords: 500, complete: o.complete ?? records === 500, pages: 5 },
    attempts: {
      total: 5,
      ok: 5,
      timedOut: o.timedOut ?? 0,
      readTimeouts: o.timedOut ?? 0,
      failed: o.timedOut ?? 0,
    },
    connectMs: { p50: 31, p90: 31, p99: 31, max: 31 },
    requestMs: { p50: 100, p90: 100, p99: 100, max: 100 },
    durationMs: 2000,
    throughputBytesPerSec: o.thr ?? 1_000_000,
    server: { invalidDrops: o.drops ?? 0, conntrackInvalid: o.ctInvalid ?? o.drops ?? 0 },
    middlebox: { flows: 5 },
    dir: name,
  });
}

function run(cellIndex: number, v: VariantResult | undefined, passedExp: boolean[] = []): CellRun {
  const s = parseScenario(matrix, 'm.yaml');
  const cell = expandMatrix(s)[cellIndex]!;
  if (v) v.expectations = cell.expect.map((e, i) => ({ text: e.text, passed: passedExp[i] ?? true, actual: 0 }));
  const result =
    v &&
    runResult([v], {
      scenario: cell.scenario.name,
      scenarioFile: 'm.yaml',
      seed: 3,
      passed: passedExp.every(Boolean),
      reports: { html: 'report.html', markdown: 'summary.md', junit: 'junit.xml' },
    });
  return {
    cell,
    runId: `r-c${cellIndex + 1}`,
    dir: cell.name,
    ...(result ? { result } : { error: 'Docker went away' }),
  };
}

function matrixResult(cells: ReturnType<typeof cellResult>[]): MatrixResult {
  return {
    schemaVersion: 1,
    kind: 'ctlab-matrix',
    scenario: 'm <b>',
    scenarioFile: 'm.yaml',
    seed: 3,
    runId: 'r',
    startedAt: 'now',
    durationMs: 1000,
    parallel: 2,
    kernel: '6.18.0',
    axes: { firewall: ['asa', 'asa+lb-strip-sack', 'transparent'], server: ['flag-off', 'flag-on', 'no-rule'] },
    excluded: ['transparent--flag-on', 'transparent--no-rule'],
    control: { cell: 'transparent--flag-off', throughputBytesPerSec: 2_000_000 },
    cells,
    verdict: matrixVerdict(cells),
    passed: cells.every((c) => c.passed),
    problems: [],
  };
}

describe('cell results, verdict and rendering', () => {
  const control = variant('transparent--flag-off', { thr: 2_000_000 });
  const broken = cellResult(
    run(0, variant('asa--flag-off', { records: 0, complete: false, timedOut: 3, drops: 141, thr: 0 })),
    control,
  );
  const clean = cellResult(run(3, variant('asa+lb-strip-sack--flag-off', { thr: 1_500_000 })), control);
  const ctl = cellResult(run(6, control), control);

  it('classifies outcomes and compares throughput with the control only for complete harvests', () => {
    expect(broken).toMatchObject({
      outcome: 'broken',
      throughputVsControl: null,
      server: { invalidDrops: 141 },
      axes: { firewall: 'asa', server: 'flag-off' },
    });
    expect(clean).toMatchObject({
      outcome: 'clean',
      throughputVsControl: 0.75,
      result: 'asa+lb-strip-sack--flag-off/result.json',
      report: 'asa+lb-strip-sack--flag-off/report.html',
    });
    expect(clean.settings['net.ipv4.tcp_sack']).toBe('1');
    expect(ctl.throughputVsControl).toBe(1);
    const degraded = cellResult(run(1, variant('asa--flag-on', { timedOut: 1 })), control);
    expect(degraded.outcome).toBe('degraded');
    expect(
      cellResult(run(1, variant('asa--flag-on')), variant('x', { complete: false, records: 3 })).throughputVsControl,
    ).toBeNull();
    const err = cellResult(run(2, undefined), control);
    expect(err).toMatchObject({ outcome: 'error', passed: false, error: 'Docker went away' });
    expect(err.expectations.every((e) => !e.passed)).toBe(true);
  });

  it('says in one line what broke, and which cells contradict the prediction', () => {
    expect(matrixVerdict([broken, clean, ctl])).toBe(
      'As predicted in the 2 cells with expectations: broken in asa--flag-off (141 INVALID drops, 3 timeouts); 2 of 3 clean.',
    );
    const wrong = cellResult(
      run(0, variant('asa--flag-off', { records: 0, complete: false, timedOut: 3, drops: 0 }), [
        false,
        true,
        true,
        false,
      ]),
      control,
    );
    expect(matrixVerdict([wrong, clean])).toMatch(
      /^1 of 2 cells contradict the prediction \(asa--flag-off: server\.invalidDrops > 0: measured 0, complete == true: measured 0\); broken in asa--flag-off/,
    );
    expect(matrixVerdict([cellResult(run(2, undefined), control), clean])).toBe(
      'Inconclusive: 1 of 2 cells could not run (asa--no-rule: Docker went away).',
    );
  });

  it('renders the grid: rows firewalls, columns server configurations, excluded cells as dots', () => {
    const m = matrixResult([broken, clean, ctl]);
    const lines = gridTable(m).split('\n');
    expect(lines[0]).toMatch(/^firewall \\ server\s+flag-off\s+flag-on\s+no-rule$/);
    expect(lines[2]).toMatch(/^asa\s+✓ BROKEN 141 drops\s+·\s+·$/);
    expect(lines[3]).toMatch(/^asa\+lb-strip-sack\s+✓ ok 0\.75x\s+·\s+·$/);
    expect(lines[4]).toMatch(/^transparent\s+✓ ok 1\.00x \(control\)\s+·\s+·$/);
    // Columns line up: every cell of the flag-off column starts at the same offset.
    const col = lines[0]!.indexOf('flag-off');
    for (const l of lines.slice(2)) expect([...l][col]).toBe('✓');
    expect(cellList(m).split('\n')[2]).toMatch(
      /^asa--flag-off\s+broken\s+0\/500\s+3\s+141\s+141\s+0\.00 MB\/s\s+–\s+4\/4$/,
    );
    expect(cellText({ ...clean, passed: false })).toBe('✗ ok 0.75x');
    expect(failureLines(m)).toEqual([]);
  });

  it('writes a self-contained, escaped matrix.html and a summary.md', () => {
    const m = matrixResult([broken, clean, ctl]);
    const html = renderMatrixHtml(m);
    expect(html).toContain('<h1>ctlab matrix: m &lt;b&gt;</h1>');
    expect(html).not.toMatch(/<script|https?:\/\//);
    expect(html).toContain('data-cell="asa--flag-off"');
    expect(html).toContain('href="asa%2Blb-strip-sack--flag-off/report.html"');
    expect((html.match(/class="excluded"/g) ?? []).length).toBe(6);
    const md = renderMatrixMarkdown(m);
    expect(md).toContain('| asa | ✅ **BROKEN** 141 drops | · | · |');
    expect(md).toContain('| transparent | clean 1.00x (control) | · | · |');
  });
});

describe('server settings read back', () => {
  it('parses sysctl output', () => {
    expect(
      parseSysctlOutput(
        'net.ipv4.tcp_congestion_control = cubic\nnet.ipv4.tcp_sack = 0\nsysctl: cannot stat /proc/sys/x: No such file\n',
      ),
    ).toEqual({
      'net.ipv4.tcp_congestion_control': 'cubic',
      'net.ipv4.tcp_sack': '0',
    });
  });
});
