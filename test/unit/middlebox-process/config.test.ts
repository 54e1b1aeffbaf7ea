import { describe, expect, it } from 'vitest';
import { ConfigError, parseProcessConfig, parseProcessConfigText } from '../../../src/middlebox/process-config.js';
import { parseKernelQueueStats } from '../../../src/middlebox/nfqueue.js';

const good = () => ({
  queue: 0,
  seed: 42,
  profile: {
    name: 'asa', isn: { client: true, server: true }, sackTranslation: false,
    options: { sackPermitted: { strip: 'none' }, windowScale: { strip: 'syn', setSynAck: 7 }, timestamps: { strip: 'all' } },
    fixedOffsets: { server: 0x10000000 },
  },
  path: { delayMs: 20, rateMbit: 0, loss: { kind: 'every-nth', n: 4, direction: 'to-client' }, reorder: { rate: 0.01, extraDelayMs: 5 } },
  countersFile: '/var/lib/ctlab/counters.json',
  flowsFile: '/var/lib/ctlab/flows.jsonl',
});

describe('middlebox process config', () => {
  it('accepts a complete config and keeps every field', () => {
    const cfg = parseProcessConfig(good());
    expect(cfg).toEqual(good());
  });

  it('accepts optional batch and holdPoolBytes', () => {
    expect(parseProcessConfig({ ...good(), batch: 256, holdPoolBytes: 1 << 24 })).toMatchObject({ batch: 256, holdPoolBytes: 1 << 24 });
  });

  it.each([
    [{ queue: 70000 }, 'queue must be an integer in [0, 65535], got 70000'],
    [{ queue: undefined }, 'queue must be an integer in [0, 65535], got nothing'],
    [{ seed: 1.5 }, 'seed must be an integer'],
    [{ countersFile: '' }, 'countersFile must be a non-empty string'],
    [{ batch: 0 }, 'batch must be an integer in [1, 1024]'],
    [{ extra: 1 }, 'unknown field "extra"'],
  ])('rejects %j with one clear line', (patch, msg) => {
    const c = { ...good(), ...patch } as Record<string, unknown>;
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete c[k];
    expect(() => parseProcessConfig(c)).toThrow(ConfigError);
    expect(() => parseProcessConfig(c)).toThrow(msg);
  });

  it('names the nested field that is wrong', () => {
    const c = good();
    (c.profile.options.timestamps as { strip: string }).strip = 'sometimes';
    expect(() => parseProcessConfig(c)).toThrow('profile.options.timestamps.strip must be one of none|syn|synack|both|all, got "sometimes"');
    const d = good();
    (d.path.loss as Record<string, unknown>).n = 0;
    expect(() => parseProcessConfig(d)).toThrow('path.loss.n must be an integer in [1, 1000000000], got 0');
    const e = good();
    (e.profile.isn as Record<string, unknown>).client = 'yes';
    expect(() => parseProcessConfig(e)).toThrow('profile.isn.client must be true or false');
  });

  it('rejects text that is not JSON, saying so', () => {
    expect(() => parseProcessConfigText('{queue: 1', '/etc/ctlab/middlebox.json')).toThrow(/middlebox config \/etc\/ctlab\/middlebox.json: not valid JSON/);
  });
});

describe('kernel queue stats', () => {
  it('parses /proc/net/netfilter/nfnetlink_queue lines', () => {
    const text = '    0  25618     3 2 65531     5     7   495444  1\n    7      0     0 2 65531     0     0        0  1\n';
    expect(parseKernelQueueStats(text)).toEqual([
      { queue: 0, portid: 25618, queueTotal: 3, copyMode: 2, copyRange: 65531, queueDropped: 5, userDropped: 7, idSequence: 495444 },
      { queue: 7, portid: 0, queueTotal: 0, copyMode: 2, copyRange: 65531, queueDropped: 0, userDropped: 0, idSequence: 0 },
    ]);
  });
  it('ignores junk', () => {
    expect(parseKernelQueueStats('\nnot a line\n')).toEqual([]);
  });
});
