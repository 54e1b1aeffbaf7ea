// The CLI end to end on the real engine and kernel, as a user and as CI call it
// (`node bin/ctlab.js ...`): doctor passes on a working machine; `run` exits 0 when every
// expectation is met and 1 when one is not (the CI gate), writes result.json to --out, prints the
// table and verdict (or JSON with --json), and leaves no container labelled with its run id.
// A small workload (300 records) keeps it to a few seconds of harvest per variant.
// Without Docker: fails when CI=true, skips (with a message) otherwise.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { connectDocker } from '../../src/runtime/connect.js';
import { LABEL_RUN } from '../../src/runtime/labels.js';
import { assertBuilt, CANONICAL, ctlab, lines, STACK_FRAME, tempDir } from '../unit/cli/cli.js';
import { dockerGate } from './docker-gate.js';
import { describeWith } from '../gate.js';

const prerequisites = await dockerGate();

async function leftover(runId: string): Promise<string[]> {
  const docker = await connectDocker();
  const cs = await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
  return cs.map((c) => c.Names.join(','));
}

/** The canonical scenario, smaller, with a variant whose expectation cannot be met (records never exceed the total). */
function gateScenario(dir: string): string {
  const text = readFileSync(CANONICAL, 'utf8');
  const cut = text.indexOf('\nvariants:');
  if (cut < 0) throw new Error(`no variants: in ${CANONICAL}`);
  let head = text.slice(0, cut);
  for (const [from, to] of [
    ['records: 3812', 'records: 300'],
    ['name: harvester-asa', 'name: cli-gate'],
  ] as const) {
    if (!head.includes(from)) throw new Error(`"${from}" not in ${CANONICAL}`);
    head = head.replace(from, to);
  }
  const file = join(dir, 'cli-gate.yaml');
  writeFileSync(
    file,
    `${head}
variants:
  - name: flag-on
    sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 }
    expect:
      - complete == true
      - server.invalidDrops == 0
  - name: impossible
    sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 }
    expect:
      - records > 300
`,
  );
  return file;
}

interface Result {
  runId: string;
  passed: boolean;
  verdict: string;
  variants: {
    name: string;
    harvest: { records: number; expectedRecords: number };
    expectations: { text: string; passed: boolean; actual: unknown }[];
  }[];
}

describeWith(prerequisites, 'ctlab CLI on real Docker', () => {
  const dir = tempDir('ctlab-cli-it-');
  let scenario: string;

  beforeAll(() => {
    assertBuilt();
    scenario = gateScenario(dir);
  });

  it('doctor: every check ok on this machine, exit 0, including from inside a lab container', async () => {
    const r = await ctlab(['doctor'], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const out = lines(r.stdout).filter((l) => !/^\s+fix:/.test(l));
    for (const l of out) expect(l).toMatch(/^(ok|info|warn)\s/);
    expect(out).toContainEqual(expect.stringMatching(/^ok\s+Docker \d/));
    expect(out).toContainEqual(expect.stringMatching(/^ok\s+inside a lab container/));
  }, 120_000);

  it('run: every expectation met is exit 0, with the table, the verdict and result.json in --out', async () => {
    const out = join(dir, 'pass');
    const r = await ctlab(['run', scenario, '--variant', 'flag-on', '--out', out], { timeoutMs: 300_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\s+ok\s+flag-on: complete == true \(measured true\)$/m);
    expect(r.stdout).toMatch(/^Verdict: .+/m);
    expect(r.stdout).toContain(`Result: ${join(out, 'result.json')}`);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
    expect(res.passed).toBe(true);
    expect(res.variants.map((v) => v.name)).toEqual(['flag-on']);
    expect(res.variants[0]!.harvest).toMatchObject({ records: 300, expectedRecords: 300 });
    expect(await leftover(res.runId)).toEqual([]);
  }, 300_000);

  it('run: an expectation that fails is exit 1 (the CI gate), marked FAIL with its measured value; --json prints result.json', async () => {
    const out = join(dir, 'fail');
    const r = await ctlab(['run', scenario, '--out', out, '--json'], { timeoutMs: 300_000 });
    expect(r.exitCode, r.stderr).toBe(1);
    const printed = JSON.parse(r.stdout) as Result; // --json: stdout is exactly result.json
    const res = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
    expect(printed).toEqual(res);
    expect(res.passed).toBe(false);
    const impossible = res.variants.find((v) => v.name === 'impossible')!;
    expect(impossible.expectations).toEqual([
      { text: 'records > 300', passed: false, actual: impossible.harvest.records },
    ]);
    expect(res.variants.find((v) => v.name === 'flag-on')!.expectations.every((e) => e.passed)).toBe(true);
    expect(await leftover(res.runId)).toEqual([]);
  }, 300_000);
});
