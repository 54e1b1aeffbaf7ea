import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countRetransmissions, readTcpPackets } from '../../../src/evidence/packets.js';
import { describeWith, requireTool } from '../../gate.js';

const FIX = join(import.meta.dirname, '../../fixtures/evidence/run');

function tsharkRetransmissions(file: string): number {
  const out = execFileSync(
    'tshark',
    ['-r', file, '-Y', 'tcp.analysis.retransmission', '-T', 'fields', '-e', 'frame.number'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  return out.split('\n').filter((l) => l.trim()).length;
}

describe('readTcpPackets', () => {
  it('reads (like tshark with absolute sequence numbers) the SACK blocks and NFLOG prefixes of the dropped ACKs', () => {
    const reasons = readTcpPackets(readFileSync(join(FIX, 'flag-off/invalid-reasons.pcap')));
    expect(reasons.length).toBe(162);
    expect(reasons[0]!.prefix).toMatch(/^nf_ct_proto_6: ACK is over upper bound \d+ \(ACKed data not seen yet\)/);
    expect(reasons[0]!).toMatchObject({ src: '198.18.1.2', sport: 54654, dst: '198.18.2.2', dport: 80 });
    expect(reasons[0]!.sack[0]).toEqual([1476237142, 1476238590]);
  });
});

// Our count must agree with Wireshark's tcp.analysis.retransmission on real captures.
describeWith(requireTool('tshark: apt-get install -y tshark'), 'retransmissions against tshark', () => {
  const files = ['flag-off/server.pcap', 'flag-off/client.pcap', 'flag-on/server.pcap', 'flag-on/client.pcap'].map(
    (f) => join(FIX, f),
  );
  // A full capture from a run, if one is at hand (CTLAB_EVIDENCE_RUN=<run folder>).
  const extra = process.env.CTLAB_EVIDENCE_RUN;
  if (extra)
    for (const v of ['flag-off', 'flag-on'])
      for (const f of ['server.pcap', 'client.pcap']) if (existsSync(join(extra, v, f))) files.push(join(extra, v, f));
  it.each(files)('%s', (file) => {
    const ours = countRetransmissions(readTcpPackets(readFileSync(file))).total;
    expect(ours).toBe(tsharkRetransmissions(file));
  });
});
