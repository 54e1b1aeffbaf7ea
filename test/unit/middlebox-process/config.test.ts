import { describe, expect, it } from 'vitest';
import { CtlabError } from '../../../src/errors.js';
import { parseProcessConfig, parseProcessConfigText } from '../../../src/middlebox/process-config.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../src/util/repo-root.js';
import { loadScenario, parseScenario } from '../../../src/scenario/load.js';
import { buildTopology } from '../../../src/topology/build.js';

const good = () => ({
  queue: 0,
  seed: 42,
  profile: {
    name: 'asa',
    isn: { client: true, server: true },
    sackTranslation: false,
    options: {
      sackPermitted: { strip: 'none' },
      windowScale: { strip: 'syn', setSynAck: 7 },
      timestamps: { strip: 'all' },
    },
    fixedOffsets: { server: 0x10000000 },
  },
  path: {
    delayMs: 20,
    rateMbit: 0,
    loss: { kind: 'every-nth', n: 4, direction: 'to-client' },
    reorder: { rate: 0.01, extraDelayMs: 5 },
  },
  countersFile: '/var/lib/ctlab/counters.json',
  flowsFile: '/var/lib/ctlab/flows.jsonl',
});

describe('middlebox process config', () => {
  it('accepts a complete config and keeps every field', () => {
    const cfg = parseProcessConfig(good());
    expect(cfg).toEqual(good());
  });

  it('accepts optional batch and holdPoolBytes', () => {
    expect(parseProcessConfig({ ...good(), batch: 256, holdPoolBytes: 1 << 24 })).toMatchObject({
      batch: 256,
      holdPoolBytes: 1 << 24,
    });
  });

  it.each([
    [{ queue: 70000 }, 'queue: must be at most 65535 (got 70000)'],
    [{ queue: undefined }, 'queue: required (number)'],
    [{ seed: 1.5 }, 'seed: expected integer, got float'],
    [{ countersFile: '' }, 'countersFile: must not be empty'],
    [{ batch: 0 }, 'batch: must be at least 1 (got 0)'],
    [{ extra: 1 }, 'unknown field "extra"'],
  ])('rejects %j with one clear line', (patch, msg) => {
    const c = { ...good(), ...patch } as Record<string, unknown>;
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete c[k];
    expect(() => parseProcessConfig(c)).toThrow(CtlabError);
    expect(() => parseProcessConfig(c)).toThrow(msg);
  });

  it('names the nested field that is wrong', () => {
    const c = good();
    (c.profile.options.timestamps as { strip: string }).strip = 'sometimes';
    expect(() => parseProcessConfig(c)).toThrow(
      'profile.options.timestamps.strip: "sometimes" is not one of "none", "syn", "synack", "both", "all"',
    );
    const d = good();
    (d.path.loss as Record<string, unknown>).n = 0;
    expect(() => parseProcessConfig(d)).toThrow('path.loss.n: must be at least 2 (got 0)');
    const e = good();
    (e.profile.isn as Record<string, unknown>).client = 'yes';
    expect(() => parseProcessConfig(e)).toThrow('profile.isn.client: expected boolean, got string');
  });

  it('rejects text that is not JSON, saying so', () => {
    expect(() => parseProcessConfigText('{queue: 1', '/etc/ctlab/middlebox.json')).toThrow(
      /middlebox config \/etc\/ctlab\/middlebox.json: not valid JSON/,
    );
  });
});

describe('one validation: the scenario schema and the process config agree', () => {
  const root = repoRoot();

  it("accepts the topology's config for every variant and matrix cell of every scenario", () => {
    let n = 0;
    for (const f of readdirSync(join(root, 'scenarios')).filter((x) => x.endsWith('.yaml'))) {
      const s = loadScenario(join(root, 'scenarios', f));
      const profiles = [s.middlebox, ...(s.matrix?.firewalls.map((fw) => fw.profile) ?? [])];
      for (const v of s.variants) {
        for (const profile of profiles) {
          const { config } = buildTopology({ ...s, middlebox: profile }, v, 7).middlebox;
          expect(parseProcessConfigText(JSON.stringify(config), f)).toEqual(config);
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(10);
  });

  // Each limit the scenario file puts on the path, the process config puts there too (a config
  // written by hand cannot go past what a scenario can ask for).
  const scenario = (path: string) => `variants: [{ name: a }]\npath: ${path}\n`;
  it.each([
    ['{ delayMs: 5001 }', { delayMs: 5001 }, 'path.delayMs: must be at most 5000'],
    [
      '{ reorder: { rate: 0.1, extraDelayMs: 5001 } }',
      { reorder: { rate: 0.1, extraDelayMs: 5001 } },
      'path.reorder.extraDelayMs: must be at most 5000',
    ],
    ['{ rateMbit: 10001 }', { rateMbit: 10001 }, 'path.rateMbit: must be at most 10000'],
    [
      '{ loss: { everyNth: 1 } }',
      { loss: { kind: 'every-nth', n: 1, direction: 'to-client' } },
      'path.loss.n: must be at least 2',
      'path.loss.everyNth: must be at least 2',
    ],
    [
      '{ late: { clientAcks: { every: 4, holdMs: 5001 } } }',
      { late: { clientAcks: { every: 4, holdMs: 5001 } } },
      'path.late.clientAcks.holdMs: must be at most 5000',
    ],
    [
      '{ late: { serverData: { every: 1, holdMs: 10 } } }',
      { late: { serverData: { every: 1, holdMs: 10 } } },
      'path.late.serverData.every: must be at least 2',
    ],
  ])('both reject %s', (yaml, patch, msg, inScenario?: string) => {
    expect(() => parseScenario(scenario(yaml), 's.yaml')).toThrow(inScenario ?? msg);
    const c = good();
    expect(() => parseProcessConfig({ ...c, path: { ...c.path, ...patch } })).toThrow(msg);
  });
});
