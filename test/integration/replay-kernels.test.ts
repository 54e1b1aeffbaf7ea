// `ctlab replay --kernel 5.10,6.1`: the same late-ACK capture (replay-late.ts) through Debian's
// 5.10 and 6.1 kernels in VMs (src/vm; both settings in one boot per kernel): 5.10 marks the
// late ACKs INVALID "ACK is under the lower bound", 6.1 marks none (it logs them "ignored").
// Runs by default (two VM boots; tcpreplay runs inside the guest). Needs root and
// qemu-system-x86_64 (test/gate.ts), and on the first run debootstrap and the Debian mirror (the
// guest and kernels are cached in ~/.cache/ctlab/vm). Without them: fails when CI=true, skips
// with the reason otherwise.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { ReplayResult } from '../../src/replay/result.js';
import { allOf, describeWith, requireRoot, requireTool } from '../gate.js';
import { assertBuilt, ctlab, tempDir } from '../unit/cli/cli.js';
import { LATE_ACKS, lateAckCapture } from './replay-late.js';

const prerequisites = allOf(
  requireTool('qemu-system-x86_64: apt-get install --no-install-recommends qemu-system-x86'),
  requireRoot(),
);

describeWith(prerequisites, 'ctlab replay --kernel 5.10,6.1', () => {
  it('5.10 finds the late ACKs INVALID ("ACK is under the lower bound"), 6.1 none', async () => {
    assertBuilt();
    const dir = tempDir('ctlab-replay-kernels-');
    const file = join(dir, 'late.pcap');
    writeFileSync(file, lateAckCapture());
    const out = join(dir, 'out');
    const r = await ctlab(
      ['replay', file, '--kernel', '5.10,6.1', '--out', out, '--expect', 'invalid[be_liberal=1] == 0'],
      { timeoutMs: 1_500_000 },
    );
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'replay.json'), 'utf8')) as ReplayResult;
    const get = (k: string, s: string) => res.runs.find((x) => x.kernel === k && x.setting.name === s)!;
    expect(get('5.10', 'be_liberal=0').release).toMatch(/^5\.10\./);
    expect(get('6.1', 'be_liberal=0').release).toMatch(/^6\.1\./);
    expect(get('5.10', 'be_liberal=0').invalid).toBe(LATE_ACKS);
    expect(get('5.10', 'be_liberal=0').reasons).toEqual([
      { reason: 'ACK is under the lower bound (possible overly delayed ACK)', packets: LATE_ACKS, flows: 1 },
    ]);
    expect(get('6.1', 'be_liberal=0').invalid).toBe(0);
    expect(get('6.1', 'be_liberal=0').packetVerdicts.map((v) => v.reasonKind)).toEqual(
      new Array(LATE_ACKS).fill('ignored ACK under lower bound (possible overly delayed)'),
    );
    for (const k of ['5.10', '6.1']) expect(get(k, 'be_liberal=1').invalid).toBe(0);
    expect(res.problems).toEqual([]);
    expect(res.verdict).toMatch(
      /^On 5\.10 \(5\.10\.[^)]+\), conntrack would have dropped 3 of the client's ACKs in 1 connection: ACK is under the lower bound \(possible overly delayed ACK\); with be_liberal=1 it drops none\. On 6\.1 \(6\.1\.[^)]+\), conntrack would have dropped none/,
    );
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<th>5.10<br>');
  }, 1_600_000);
});
