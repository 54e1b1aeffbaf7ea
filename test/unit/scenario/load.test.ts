// Loading a scenario file: the canonical scenarios, defaults and preset overrides, every problem
// named by file:line:col and field, before anything starts (expectations: test/unit/result/).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario, ScenarioError, variantSysctls } from '../../../src/scenario/load.js';
import { CtlabError } from '../../../src/errors.js';
import { FAKE_KERNEL } from './fake-kernel.js';

const minimal = `
name: t
variants:
  - name: off
    sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 0 }
`;

function problems(text: string) {
  try {
    parseScenario(text, 'f.yaml', { kernel: FAKE_KERNEL });
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).problems;
  }
  throw new Error('expected a ScenarioError');
}

describe('scenario loading', () => {
  it('loads the canonical scenarios', () => {
    const s = loadScenario('scenarios/harvester-asa.yaml');
    expect(s.name).toBe('harvester-asa');
    expect(s.middlebox.isn).toEqual({ client: true, server: true });
    expect(s.middlebox.sackTranslation).toBe(false);
    expect(s.path.loss).toEqual({ kind: 'rate', rate: 0.015, direction: 'to-client' });
    expect(s.variants.map((v) => v.name)).toEqual(['flag-off', 'flag-on']);
    expect(variantSysctls(s, 'flag-on')['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('1');
    expect(variantSysctls(s, 'flag-off')['net.netfilter.nf_conntrack_log_invalid']).toBe('6');
    expect(s.variants[1]!.expect[0]).toEqual({ metric: 'records', op: '==', value: 3812, text: 'records == 3812' });
    const c = loadScenario('scenarios/harvester-asa-sack-translated.yaml');
    expect(c.middlebox.sackTranslation).toBe(true);
  });

  it('fills defaults and applies preset overrides', () => {
    const s = parseScenario(`${minimal}middlebox: { preset: asa, sackTranslation: true }\n`, 'x/t.yaml');
    expect(s.middlebox.name).toBe('asa');
    expect(s.middlebox.sackTranslation).toBe(true);
    expect(s.middlebox.isn.server).toBe(true);
    expect(s.workload).toMatchObject({ kind: 'oai-pmh', records: 3812 });
    expect(s.path.loss).toEqual({ kind: 'none' });
    expect(s.seed).toBe(1);
  });

  it('names file, line and field for an unknown field', () => {
    const p = problems(`${minimal}path:\n  delayMs: 10\n  latency: 5\n`);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ file: 'f.yaml', line: 8, field: 'path.latency', message: 'unknown field' });
  });

  it('rejects a negative delay on its line', () => {
    const p = problems(`${minimal}path:\n  delayMs: -5\n`);
    expect(p[0]).toMatchObject({ line: 7, field: 'path.delayMs' });
    expect(p[0]!.message).toMatch(/at least 0/);
  });

  it('reports YAML syntax errors with a position', () => {
    const p = problems('name: t\nvariants: [\n  - x\n');
    expect(p[0]!.message).toMatch(/YAML syntax error/);
    expect(p[0]!.line).toBeGreaterThan(1);
  });

  it('rejects impossible variants: unknown sysctl, bad value, duplicate name, bad expectation', () => {
    const p = problems(`
variants:
  - name: a
    sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 2 }
  - name: a
    sysctls: { net.ipv4.no_such_thing: 1 }
    expect: [ "records >> 3", "bogus.metric == 1", "complete > 1" ]
`);
    const msgs = p.map((x) => `${x.line} ${x.field}: ${x.message}`);
    expect(msgs).toEqual([
      expect.stringMatching(
        /^4 variants\[0\]\.sysctls\.net\.netfilter\.nf_conntrack_tcp_be_liberal: kernel 6\.99\.0-fake refuses net\.netfilter\.nf_conntrack_tcp_be_liberal=2: Invalid argument$/,
      ),
      expect.stringMatching(/^5 variants\[1\]\.name: duplicate variant name "a"/),
      expect.stringMatching(
        /^6 variants\[1\]\.sysctls\.net\.ipv4\.no_such_thing: unknown sysctl "net\.ipv4\.no_such_thing": not per network namespace on kernel 6\.99\.0-fake$/,
      ),
      expect.stringMatching(/^7 variants\[1\]\.expect\[0\]: .*not of the form/),
      expect.stringMatching(/^7 variants\[1\]\.expect\[1\]: unknown metric "bogus.metric"/),
      expect.stringMatching(/^7 variants\[1\]\.expect\[2\]: "complete" compares with true or false/),
    ]);
  });

  it('requires at least one variant', () => {
    expect(problems('name: t\nvariants: []\n')[0]!.message).toMatch(/at least one variant/);
    expect(problems('name: t\n')[0]).toMatchObject({ field: 'variants', message: expect.stringMatching(/required/) });
  });

  it('rejects a scenario that is not a mapping', () => {
    expect(problems('- a\n- b\n')[0]!.message).toMatch(/YAML mapping/);
  });

  it('says clearly when the file is missing', () => {
    expect(() => loadScenario('no/such/file.yaml')).toThrow(/cannot read scenario no\/such\/file.yaml: no such file/);
    let err: unknown;
    try {
      loadScenario('no/such/file.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CtlabError);
    expect((err as CtlabError).code).toBe('SCENARIO');
  });

  it('formats a one-line message naming file:line:col', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctlab-'));
    const f = join(dir, 's.yaml');
    writeFileSync(f, `${minimal}workload:\n  retries: -1\n`);
    try {
      loadScenario(f);
      throw new Error('no error');
    } catch (e) {
      expect((e as Error).message).toBe(`${f}:7:12: workload.retries: must be at least 0`);
    }
  });
});
