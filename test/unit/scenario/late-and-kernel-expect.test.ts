// The scenario side of late packets (path.late) and kernel-conditional expectations
// (`{ kernel: "<6.1", expect: [...] }`), from YAML to the variant's expectations (checking them
// on a variant: test/unit/result/expectations.test.ts).
import { describe, expect, it } from 'vitest';
import { problems } from './problems.js';
import { loadScenario, parseScenario } from '../../../src/scenario/load.js';
import { buildTopology } from '../../../src/topology/build.js';

const base = (extra: string, variantExtra = '') => `
name: t
path:
  delayMs: 1
${extra}
variants:
  - name: flag-off
    sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 0 }
${variantExtra}
`;

describe('path.late in a scenario', () => {
  it('reaches the model and the middlebox config', () => {
    const s = parseScenario(base('  late: { clientAcks: { every: 20, holdMs: 200 } }'), 'x.yaml');
    expect(s.path.late).toEqual({ clientAcks: { every: 20, holdMs: 200 } });
    expect(buildTopology(s, s.variants[0]!, 1).middlebox.config.path.late).toEqual({
      clientAcks: { every: 20, holdMs: 200 },
    });
    const both = parseScenario(
      base('  late:\n    clientAcks: { every: 3, holdMs: 50 }\n    serverData: { every: 7, holdMs: 300 }'),
      'x.yaml',
    );
    expect(both.path.late).toEqual({ clientAcks: { every: 3, holdMs: 50 }, serverData: { every: 7, holdMs: 300 } });
  });

  it('is absent when not written', () => {
    expect(parseScenario(base(''), 'x.yaml').path.late).toBeUndefined();
  });

  it('rejects bad values with their line and field', () => {
    expect(problems(base('  late: { clientAcks: { every: 1, holdMs: 200 } }'))).toEqual([
      '5: path.late.clientAcks.every: must be at least 2',
    ]);
    expect(problems(base('  late: { serverData: { every: 5, holdMs: 0 } }'))).toEqual([
      '5: path.late.serverData.holdMs: must be more than 0',
    ]);
    expect(problems(base('  late: { serverData: { every: 5, holdMs: 9000 } }'))).toEqual([
      '5: path.late.serverData.holdMs: must be at most 5000',
    ]);
    expect(problems(base('  late: { clientAcks: { every: 2.5, holdMs: 10 } }'))[0]).toMatch(
      /^5: path\.late\.clientAcks\.every: /,
    );
    expect(problems(base('  late: { clientAck: { every: 5, holdMs: 10 } }'))).toEqual([
      '5: path.late.clientAck: unknown field',
    ]);
    expect(problems(base('  late: {}'))).toEqual(['5: path.late: late needs clientAcks or serverData (or remove it)']);
  });
});

describe('kernel-conditional expectations', () => {
  const yaml = base(
    '',
    `    expect:
      - complete == true
      - kernel: "<6.1"
        expect: [server.invalidDrops > 0]
      - kernel: ">=6.1"
        expect: [server.invalidDrops == 0, records == 100]`,
  );

  it('are flattened into the variant with their condition', () => {
    const ex = parseScenario(yaml, 'x.yaml').variants[0]!.expect;
    expect(ex.map((e) => [e.text, e.kernel?.text])).toEqual([
      ['complete == true', undefined],
      ['server.invalidDrops > 0', '< 6.1'],
      ['server.invalidDrops == 0', '>= 6.1'],
      ['records == 100', '>= 6.1'],
    ]);
  });

  it('report bad entries at their line: schema problems first', () => {
    const bad = base(
      '',
      `    expect:
      - kernel: ">=6.1"
        expect: []
      - { kernel: ">=6.1", expect: [complete == true], extra: 1 }
      - { kernel: ">=6.1", expect: "complete == true" }`,
    );
    expect(problems(bad)).toEqual([
      '11: variants[0].expect[0].expect: a kernel condition needs at least one expectation',
      '12: variants[0].expect[1].extra: unknown field',
      expect.stringMatching(/^13: variants\[0\]\.expect\[2\]: not a valid value/),
    ]);
  });

  it('report bad conditions and bad expectations inside them at their line', () => {
    const bad = base(
      '',
      `    expect:
      - kernel: "before 6.1"
        expect: [server.invalidDrops > 0]
      - kernel: ">=6.1"
        expect: [server.invalidDrop == 0]`,
    );
    expect(problems(bad)).toEqual([
      '10: variants[0].expect[0].kernel: kernel condition "before 6.1": cannot read "before"; a kernel condition is one or more comparisons with a release, e.g. "<6.1", ">=6.1" or ">=5.15 <6.1" (ops <, <=, >, >=, ==, !=)',
      expect.stringMatching(/^13: variants\[0\]\.expect\[1\]\.expect\[0\]: unknown metric "server\.invalidDrop"/),
    ]);
  });

  it('scenarios/late-ack.yaml loads, with expectations for both sides of 6.1', () => {
    const s = loadScenario('scenarios/late-ack.yaml');
    expect(s.path.late?.clientAcks).toBeDefined();
    expect(s.middlebox.isn).toEqual({ client: false, server: false });
    const off = s.variants.find((v) => v.name === 'flag-off')!;
    expect(off.expect.some((e) => e.kernel && e.kernel.text === '< 6.1')).toBe(true);
    expect(off.expect.some((e) => e.kernel && e.kernel.text === '>= 6.1')).toBe(true);
  });
});
