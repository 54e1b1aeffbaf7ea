// A scenario built in code (an object of the file's shape) is validated exactly like a file: the
// same schema and checks (sysctls on the kernel, addresses, names, matrix patterns), the same
// messages, naming the field path instead of a line. Sysctls are checked against FAKE_KERNEL here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CtlabError, type ScenarioInput, validateScenario } from '../../../src/index.js';
import { parseScenario, parseScenarioObject, ScenarioError } from '../../../src/scenario/load.js';
import { repoRoot } from '../../../src/util/repo-root.js';
import { FAKE_KERNEL } from '../scenario/fake-kernel.js';

const CANONICAL = join(repoRoot(), 'scenarios/harvester-asa.yaml');

/** field: message of each problem, from a thunk that should throw a ScenarioError. */
function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems.map((p) => `${p.field}: ${p.message}`);
    throw e;
  }
  return [];
}

const base: ScenarioInput = {
  variants: [{ name: 'flag-off', sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': 0 } }],
};

describe('a scenario object is validated like a file', () => {
  it('the canonical scenario as an object gives the same model as its file', async () => {
    const obj = parse(readFileSync(CANONICAL, 'utf8')) as ScenarioInput;
    const fromObject = await validateScenario(obj);
    const fromFile = await validateScenario(CANONICAL);
    expect({ ...fromObject, file: '' }).toEqual({ ...fromFile, file: '' });
    expect(fromObject.file).toBe('scenario');
  });

  it.each<[string, ScenarioInput]>([
    ['an unknown field', { ...base, server: { firewal: {} } as never }],
    ['a wrong type', { ...base, path: { delayMs: '15' as never } }],
    [
      'a sysctl the kernel does not have, and a value it refuses',
      {
        variants: [
          { name: 'a', sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberl': 1 } },
          { name: 'b', sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': 2 } },
        ],
      },
    ],
    ['duplicate variant names', { variants: [{ name: 'x' }, { name: 'x' }] }],
    ['a service address outside the lab range', { ...base, client: { serviceVip: '10.0.0.1' } }],
    ['a bad expectation', { variants: [{ name: 'x', expect: ['records >> 3'] }] }],
    [
      'a matrix pattern that matches nothing',
      {
        middlebox: { preset: 'asa' },
        matrix: {
          axes: { server: { liberal: { sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': 1 } } } },
          exclude: [{ firewall: 'asa', server: 'liberl' }],
        },
      },
    ],
  ])('%s: the same problems as the file, by field path', (_what, obj) => {
    const fromObject = problems(() => parseScenarioObject(obj, 'scenario', { kernel: FAKE_KERNEL }));
    const fromFile = problems(() => parseScenario(stringify(obj), 'x.yaml', { kernel: FAKE_KERNEL }));
    expect(fromObject.length).toBeGreaterThan(0);
    expect(fromObject).toEqual(fromFile);
  });

  it('the message names the field path, with no line', async () => {
    const e = await validateScenario({ ...base, path: { delayMs: -1 } }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(CtlabError);
    expect((e as CtlabError).code).toBe('SCENARIO');
    expect((e as CtlabError).message).toBe('scenario: path.delayMs: must be at least 0');
  });

  it('an object that is not a mapping, and one with neither variants nor a matrix', () => {
    expect(problems(() => parseScenarioObject({}, 'scenario'))).toEqual([
      'variants: required (array): a scenario needs at least one variant (usually the flag off and on), or a matrix',
    ]);
    expect(() => parseScenarioObject([], 'scenario')).toThrow(
      'scenario: a scenario is a YAML mapping (name, path, middlebox, server, workload, variants, ...)',
    );
  });
});
