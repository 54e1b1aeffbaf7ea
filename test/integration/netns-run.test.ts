// The main job on the namespace runtime, end to end through the CLI as a user runs it
// (`node bin/ctlab.js run scenarios/harvester-asa.yaml --runtime netns`): the same verdict as on
// Docker (flag off: page 0 fails with read timeouts and INVALID drops; flag on: all 3,812 records,
// no INVALID drop), every claim read from result.json's kernel counters, nothing left running and
// no host file written. Needs root and the host programs: fails when CI=true, skips otherwise.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { RunResult } from '../../src/result/types.js';
import { repoRoot } from '../../src/util/repo-root.js';
import { findLabProcesses } from '../../src/runtime/netns/procs.js';
import { NETNS_STATE_ROOT } from '../../src/runtime/netns/runtime.js';
import { netnsGate } from './docker-gate.js';
import { describeWith } from '../gate.js';

const prerequisites = netnsGate();

const root = repoRoot();
const sha = (p: string) => (existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'absent');
// Paths the server's and middlebox's set-up write inside their nodes: the host's must not change.
const HOST_FILES = [
  '/etc/nginx/nginx.conf',
  '/etc/ctlab/middlebox.json',
  '/usr/local/sbin/ctlab-firewall',
  '/srv/oai/manifest.json',
  '/var/log/nginx/access.log',
  '/run/nginx.pid',
  '/run/ctlab/middlebox.pid',
];

describeWith(prerequisites, 'ctlab run --runtime netns (no Docker, real kernel)', () => {
  const out = mkdtempSync(join(tmpdir(), 'ctlab-netns-run-'));
  let r: Awaited<ReturnType<typeof execa>>;
  let result: RunResult;
  let hostBefore: string[];
  let ms = 0;

  beforeAll(async () => {
    hostBefore = HOST_FILES.map(sha);
    const t0 = Date.now();
    r = await execa(
      process.execPath,
      [join(root, 'bin', 'ctlab.js'), 'run', 'scenarios/harvester-asa.yaml', '--runtime', 'netns', '--out', out],
      { cwd: root, reject: false, timeout: 300_000 },
    );
    ms = Date.now() - t0;
    if (r.exitCode !== 0) console.log(String(r.stderr).slice(-3000));
    console.log(`[netns-run.test] ctlab run --runtime netns took ${(ms / 1000).toFixed(1)} s; run folder ${out}`);
    result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as RunResult;
  }, 320_000);

  it('exits 0 with the verdict "Reproduced", without building any image', () => {
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(
      /^Verdict: Reproduced: with nf_conntrack_tcp_be_liberal=0 .* with =1 it harvested all 3,812 records/m,
    );
    expect(String(r.stderr)).toMatch(/netns runtime ready/);
    expect(String(r.stderr)).not.toMatch(/images ready/);
    expect(result.passed).toBe(true);
  });

  it('flag off: page 0 fails with read timeouts, and the firewall dropped packets conntrack judged INVALID', () => {
    const off = result.variants.find((v) => v.name === 'flag-off')!;
    expect(off.sysctls['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('0');
    expect(off.serverSettings?.['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('0'); // read back in the node
    expect(off.server.invalidDrops).toBeGreaterThan(0);
    expect(off.server.conntrackInvalid).toBeGreaterThanOrEqual(off.server.invalidDrops);
    expect(off.attempts.readTimeouts).toBeGreaterThan(0);
    expect(off.harvest.complete).toBe(false);
    expect(off.harvest.records).toBe(0); // the first page never arrived
    expect(off.middlebox.counters.sackBlocksUntranslated).toBeGreaterThan(0);
    expect(off.middlebox.queueDrops).toBe(0);
    // conntrack's own reason, captured from NFLOG inside the server's namespace
    expect(
      readFileSync(join(out, 'flag-off', 'invalid-reasons.pcap')).includes(Buffer.from('ACK is over upper bound')),
    ).toBe(true);
  });

  it('flag on: 3,812 of 3,812 records, no timeout, no INVALID drop', () => {
    const on = result.variants.find((v) => v.name === 'flag-on')!;
    expect(on.serverSettings?.['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('1');
    expect(on.harvest).toMatchObject({ records: 3812, expectedRecords: 3812, complete: true });
    expect(on.attempts.timedOut).toBe(0);
    expect(on.server.invalidDrops).toBe(0);
    expect(on.middlebox.queueDrops).toBe(0);
    expect(on.middlebox.counters.droppedByLoss).toBeGreaterThan(0); // the path's loss was really applied
  });

  it('leaves no process, namespace or state directory of the run, and no host file written', async () => {
    expect((await findLabProcesses((run) => run === result.runId)).victims).toEqual([]);
    expect(existsSync(join(NETNS_STATE_ROOT, result.runId))).toBe(false);
    expect(HOST_FILES.map(sha)).toEqual(hostBefore);
  });
});
