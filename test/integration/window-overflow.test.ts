// The window-overflow class on real Docker and the host's kernel: scenarios/window-overflow.yaml
// as shipped (an upload through a middlebox raising the SYN-ACK's window scale to 14, a 16 KB
// server receive buffer), flag off and on. Checked from the kernel's own counters: conntrack's
// NFLOG reasons ("SEQ is over the upper bound"), the firewall's INVALID drops, the server TCP's
// drops past its window (TcpExtBeyondWindow, Linux 6.17 on) and the client's resends. Without
// Docker: fails when CI=true, skips otherwise. (5.10 and 6.1: `ctlab run
// scenarios/window-overflow.yaml --kernel 5.10,6.1,host`, measured in the README.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { buildImages, runtimeFor } from '../../src/cli/lab.js';
import { analyzeVariant } from '../../src/evidence/index.js';
import type { VariantEvidence } from '../../src/evidence/types.js';
import { headline } from '../../src/report/diagnosis.js';
import { byKernelVersion } from '../../src/result/kernel.js';
import type { RunResult, VariantResult } from '../../src/result/types.js';
import { runScenario } from '../../src/run/run.js';
import { newRunId } from '../../src/runtime/labels.js';
import { loadScenario } from '../../src/scenario/load.js';
import { describeWith } from '../gate.js';
import { dockerGate, labelledContainers } from './docker-gate.js';

const prerequisites = await dockerGate();

describeWith(prerequisites, 'window-overflow.yaml: an upload past the server window (real Docker, real kernel)', () => {
  const out = mkdtempSync(join(tmpdir(), 'ctlab-overflow-'));
  const runId = newRunId();
  let r: RunResult;
  const ev: Record<string, VariantEvidence> = {};
  let failed = false;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });

  beforeAll(async () => {
    const images = await buildImages({ runId, progress: () => {} });
    r = await runScenario(loadScenario('scenarios/window-overflow.yaml'), {
      outDir: join(out, 'run'),
      runId,
      parallel: 2,
      createRuntime: (id) => runtimeFor(id, images),
    });
    for (const v of r.variants) ev[v.name] = await analyzeVariant(join(out, 'run', v.dir));
    console.log(`[window-overflow.test] ${(r.durationMs / 1000).toFixed(1)} s; folder ${out}`);
  }, 300_000);
  afterAll(() => {
    if (!failed && r?.passed) rmSync(out, { recursive: true, force: true });
    else console.warn(`[window-overflow.test] run folder kept: ${out}`);
  });

  const variant = (name: string): VariantResult => r.variants.find((v) => v.name === name)!;
  /** The reason counts of conntrack's "SEQ is over the upper bound" (5.10's and 6.1's wording). */
  const overUpper = (e: VariantEvidence) => e.reasons.filter((x) => /^SEQ is over (the )?upper bound/.test(x.reason));
  /** TcpExtBeyondWindow exists from Linux 6.17; before, the same drops are uncounted. */
  const countsBeyondWindow = (v: VariantResult) => byKernelVersion(v.kernel, '6.17') >= 0;

  it('every upload completes and every expectation of the scenario holds', () => {
    expect(r.problems).toEqual([]);
    for (const v of r.variants) {
      expect(v.workload?.complete, v.name).toBe(true);
      expect(v.serverSettings?.['net.ipv4.tcp_rmem'], v.name).toBe('4096\t16384\t16384');
      expect(Number(v.middlebox.counters.windowScaleSet), v.name).toBeGreaterThan(0);
    }
    expect(r.variants.flatMap((v) => v.expectations.filter((x) => !x.passed))).toEqual([]);
    expect(r.passed).toBe(true);
  });

  it('flag off: conntrack judges the overshoots "SEQ is over the upper bound", the firewall drops exactly those', () => {
    const v = variant('flag-off');
    const e = ev['flag-off']!;
    expect(v.server.invalidDrops).toBeGreaterThan(0);
    // Counted and attributed: conntrack logged this reason for every packet it counted INVALID,
    // and every drop captured carries it. (Under a loaded machine the drop capture has missed 2
    // of 1,702 at its end, so the capture is held to 99 % of the firewall's counter.)
    const judged = overUpper(e).reduce((n, x) => n + x.judged, 0);
    const dropped = overUpper(e).reduce((n, x) => n + x.dropped, 0);
    expect(v.server.conntrackInvalid).toBe(v.server.invalidDrops);
    expect(judged).toBe(v.server.conntrackInvalid);
    expect(e.drops.withoutReason).toBe(0);
    expect(dropped).toBe(e.drops.captured);
    expect(e.drops.captured).toBeGreaterThanOrEqual(Math.floor(0.99 * v.server.invalidDrops));
    // Every dropped segment is sent again, and so is every one the server's TCP dropped itself.
    const beyond = v.server.nstat.TcpExtBeyondWindow ?? 0;
    if (countsBeyondWindow(v)) expect(beyond).toBeGreaterThan(0);
    expect(v.client.nstat.TcpRetransSegs).toBeGreaterThanOrEqual(v.server.invalidDrops + beyond);
    expect(headline(e).join(' ')).toContain('The client sent past the window the server advertised');
  });

  it('flag on: nothing INVALID, yet the client still overruns the window: the server TCP drops the excess, the client resends it', () => {
    const v = variant('flag-on');
    const e = ev['flag-on']!;
    expect(v.serverSettings?.['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('1');
    expect(v.server.invalidDrops).toBe(0);
    expect(v.server.conntrackInvalid).toBe(0);
    expect(overUpper(e)).toEqual([]);
    expect(v.client.nstat.TcpRetransSegs).toBeGreaterThan(100);
    if (countsBeyondWindow(v)) {
      expect(v.server.nstat.TcpExtBeyondWindow).toBeGreaterThan(0);
      expect(v.client.nstat.TcpRetransSegs).toBeGreaterThanOrEqual(v.server.nstat.TcpExtBeyondWindow!);
    }
  });

  it('leaves no container behind', async () => {
    expect(await labelledContainers(runId)).toBe(0);
  });
});
