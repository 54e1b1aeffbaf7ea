// The verdict sentence and the terminal's side-by-side table (testing expectations: test/unit/result/).
import { describe, expect, it } from 'vitest';
import { variantTable, verdictSentence } from '../../../src/report/verdict.js';
import type { RunResult, VariantResult } from '../../../src/result/types.js';
import { variantResult } from '../result/variant.js';

function variant(name: string, flag: string, o: { records: number; timedOut: number; drops: number }): VariantResult {
  const complete = o.records === 3812;
  return variantResult({
    name,
    kernel: '6.18.0',
    sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': flag },
    harvest: {
      records: o.records,
      expectedRecords: 3812,
      complete,
      pages: 39,
      stoppedBecause: complete ? null : 'page failed',
    },
    attempts: {
      total: 45,
      ok: 45 - o.timedOut,
      timedOut: o.timedOut,
      readTimeouts: o.timedOut,
      retries: o.timedOut,
      failed: o.timedOut,
    },
    connectMs: { p50: 30, p90: 31, p99: 40, max: 41 },
    requestMs: { p50: 400, p90: 900, p99: 4000, max: 4000 },
    durationMs: 20000,
    throughputBytesPerSec: 600000,
    server: { invalidDrops: o.drops, conntrackInvalid: o.drops, nstat: { TcpRetransSegs: 10 } },
    middlebox: { counters: { packetsSeen: 1000 }, flows: 45 },
    dir: name,
  });
}

describe('verdict', () => {
  it('says reproduced when the flag off breaks with INVALID drops and on cures it', () => {
    const s = verdictSentence([
      variant('off', '0', { records: 1200, timedOut: 3, drops: 41 }),
      variant('on', '1', { records: 3812, timedOut: 0, drops: 0 }),
    ]);
    expect(s).toBe(
      "Reproduced: with nf_conntrack_tcp_be_liberal=0 the server's firewall dropped 41 packets that conntrack judged INVALID and the harvest stalled (1,200 of 3,812 records, 3 timed-out attempts); with =1 it harvested all 3,812 records with no timeout and no INVALID drop.",
    );
  });
  it('says not reproduced when nothing is INVALID and all complete', () => {
    expect(verdictSentence([variant('off', '0', { records: 3812, timedOut: 0, drops: 0 })])).toMatch(/^Not reproduced/);
  });
  it('does not blame conntrack for failures without INVALID drops', () => {
    expect(verdictSentence([variant('off', '0', { records: 100, timedOut: 4, drops: 0 })])).toMatch(
      /without any packet judged INVALID/,
    );
  });
  it('does not claim a cure when the flag on still breaks', () => {
    expect(
      verdictSentence([
        variant('off', '0', { records: 100, timedOut: 4, drops: 9 }),
        variant('on', '1', { records: 3000, timedOut: 1, drops: 0 }),
      ]),
    ).toMatch(/^Mixed result/);
  });
  it('says when INVALID drops did not break anything', () => {
    expect(
      verdictSentence([
        variant('off', '0', { records: 3812, timedOut: 0, drops: 26 }),
        variant('on', '1', { records: 3812, timedOut: 0, drops: 0 }),
      ]),
    ).toBe(
      'Every variant harvested all 3,812 records without a timeout, but conntrack judged packets INVALID (off: 3,812 of 3,812 records, 26 INVALID drops; on: 3,812 of 3,812 records, 0 INVALID drops): TCP recovered this time.',
    );
  });
  it('names a client-side NAT that let INVALID packets escape and reset the server', () => {
    const nat = variant('nat', '0', { records: 0, timedOut: 0, drops: 0 });
    nat.client = { nstat: { TcpOutRsts: 49 }, serviceVip: '198.18.3.80', conntrackInvalid: 86, invalidDrops: null };
    nat.server.nstat.TcpEstabResets = 4;
    const fixed = variant('nat-drop-invalid', '0', { records: 3812, timedOut: 0, drops: 0 });
    fixed.client = { nstat: {}, serviceVip: '198.18.3.80', conntrackInvalid: 203, invalidDrops: 203 };
    expect(verdictSentence([nat, fixed])).toBe(
      "Reproduced: the client's NAT let 86 packets its conntrack judged INVALID through without the reverse NAT, the server reset 4 connections and the harvest stalled (nat: 0 of 3,812 records); nat-drop-invalid harvested all 3,812 records.",
    );
    // the DROP fix's INVALID packets are dropped, not escaped: alone, it is not a failure
    expect(verdictSentence([fixed])).toMatch(
      /^Every variant harvested all 3,812 records without a timeout, but conntrack judged packets INVALID \(nat-drop-invalid: .*client conntrack 203 INVALID \(203 dropped\)\)/,
    );
  });
  it('is inconclusive when the run had problems', () => {
    expect(verdictSentence([], ['the middlebox died'])).toBe('Inconclusive: the middlebox died');
  });
});

describe('table', () => {
  it('puts variants side by side', () => {
    const r = {
      repetitions: 1,
      variants: [
        variant('off', '0', { records: 1200, timedOut: 3, drops: 41 }),
        variant('on', '1', { records: 3812, timedOut: 0, drops: 0 }),
      ],
    } as RunResult;
    const t = variantTable(r).split('\n');
    expect(t[0]).toMatch(/^\s+off\s+on$/);
    expect(t.find((l) => l.startsWith('records'))).toMatch(/1,200 \/ 3,812\s+3,812 \/ 3,812$/);
    expect(t.find((l) => l.startsWith('INVALID drops'))).toMatch(/41\s+0$/);
  });
});
