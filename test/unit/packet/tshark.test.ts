// Real-decoder agreement: every packet of real captures decoded by us and by tshark, field by
// field; plus byte-exact round trips and checksum agreement on the same packets.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import {
  decode,
  encode,
  ipv4HeaderChecksum,
  networkLayer,
  readPcap,
  type TcpOption,
  tcpChecksum,
} from '../../../src/packet/index.js';
import { describeWith, requireTool } from '../../gate.js';

const FIXTURES = ['deadlock-upper-half-offset.pcap', 'invalid-reasons-nflog.pcap'];
const FIELDS = [
  'frame.number',
  'ip.src',
  'ip.dst',
  'ip.len',
  'ip.ttl',
  'ip.checksum',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.flags',
  'tcp.window_size_value',
  'tcp.checksum',
  'tcp.options.mss_val',
  'tcp.options.wscale.shift',
  'tcp.options.sack_le',
  'tcp.options.sack_re',
  'tcp.options.timestamp.tsval',
  'tcp.options.timestamp.tsecr',
  'tcp.len',
] as const;

function tshark(file: string): Array<Record<(typeof FIELDS)[number], string>> {
  const args = [
    '-n',
    '-r',
    file,
    '-o',
    'tcp.relative_sequence_numbers:FALSE',
    '-o',
    'tcp.analyze_sequence_numbers:FALSE',
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-E',
    'occurrence=a',
    '-E',
    'aggregator=,',
    ...FIELDS.flatMap((f) => ['-e', f]),
  ];
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  return r.stdout
    .trimEnd()
    .split('\n')
    .map((line) => {
      const cols = line.split('\t');
      return Object.fromEntries(FIELDS.map((f, i) => [f, cols[i] ?? ''])) as Record<(typeof FIELDS)[number], string>;
    });
}

const num = (s: string) => (s === '' ? undefined : Number(s));
const list = (s: string) => (s === '' ? [] : s.split(',').map(Number));

describeWith(requireTool('tshark: apt-get install -y tshark'), 'tshark agreement', () => {
  for (const name of FIXTURES) {
    it(`decodes every packet of ${name} as tshark does, round-trips it and checks its checksums`, () => {
      const file = fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));
      const pcap = readPcap(new Uint8Array(readFileSync(file)));
      const rows = tshark(file);
      expect(rows).toHaveLength(pcap.packets.length);
      let tcpSeen = 0,
        tcpChecksummed = 0,
        sackPackets = 0,
        tsPackets = 0;
      for (const [i, pkt] of pcap.packets.entries()) {
        const row = rows[i]!;
        const where = `${name} frame ${row['frame.number']}`;
        const nl = networkLayer(pcap.linktype, pkt.data, pcap.bigEndian);
        if (nl?.ipVersion !== 4) {
          expect(row['ip.src'], where).toBe('');
          continue;
        }
        const d = decode(pkt.data, nl.offset);
        const ctx = { where };
        expect({ ...ctx, v: d.ip.src }).toEqual({ ...ctx, v: row['ip.src'] });
        expect({ ...ctx, v: d.ip.dst }).toEqual({ ...ctx, v: row['ip.dst'] });
        expect({ ...ctx, v: d.ip.totalLength }).toEqual({ ...ctx, v: num(row['ip.len']) });
        expect({ ...ctx, v: d.ip.ttl }).toEqual({ ...ctx, v: num(row['ip.ttl']) });
        expect({ ...ctx, v: d.ip.checksum }).toEqual({ ...ctx, v: num(row['ip.checksum']) });
        expect({ ...ctx, v: ipv4HeaderChecksum(pkt.data, nl.offset) }).toEqual({ ...ctx, v: d.ip.checksum });
        // Byte-exact round trip of everything captured from the IP header on.
        expect({ ...ctx, v: Buffer.from(encode(d)).toString('hex') }).toEqual({
          ...ctx,
          v: Buffer.from(pkt.data.subarray(nl.offset)).toString('hex'),
        });
        if (!d.tcp) {
          expect(row['tcp.srcport'], where).toBe('');
          continue;
        }
        tcpSeen++;
        const t = d.tcp;
        const opt = <N extends string>(n: N) =>
          t.options.filter((o) => o.name === n) as Extract<TcpOption, { name: N }>[];
        const got = {
          where,
          sport: t.srcPort,
          dport: t.dstPort,
          seq: t.seq,
          ack: t.ack,
          flags: (t.reserved << 8) | t.flags,
          win: t.window,
          csum: t.checksum,
          mss: opt('mss')[0]?.mss,
          ws: opt('wscale')[0]?.shift,
          sle: opt('sack').flatMap((o) => o.blocks.map((b: number[]) => b[0])),
          sre: opt('sack').flatMap((o) => o.blocks.map((b: number[]) => b[1])),
          tsval: opt('timestamps')[0]?.tsval,
          tsecr: opt('timestamps')[0]?.tsecr,
          len: d.payloadLength,
        };
        const want = {
          where,
          sport: num(row['tcp.srcport']),
          dport: num(row['tcp.dstport']),
          seq: num(row['tcp.seq_raw']),
          ack: num(row['tcp.ack_raw']),
          flags: num(row['tcp.flags']),
          win: num(row['tcp.window_size_value']),
          csum: num(row['tcp.checksum']),
          mss: num(row['tcp.options.mss_val']),
          ws: num(row['tcp.options.wscale.shift']),
          sle: list(row['tcp.options.sack_le']),
          sre: list(row['tcp.options.sack_re']),
          tsval: num(row['tcp.options.timestamp.tsval']),
          tsecr: num(row['tcp.options.timestamp.tsecr']),
          len: num(row['tcp.len']),
        };
        expect(got).toEqual(want);
        if (got.sle.length) sackPackets++;
        if (got.tsval !== undefined) tsPackets++;
        if (!d.truncated) {
          tcpChecksummed++;
          expect({ where, v: tcpChecksum(pkt.data, nl.offset) }).toEqual({ where, v: t.checksum });
        }
      }
      // The captures must actually exercise what we claim to check.
      expect(tcpSeen).toBeGreaterThan(60);
      expect(tcpChecksummed).toBeGreaterThan(60);
      expect(sackPackets).toBeGreaterThan(30);
      expect(tsPackets).toBeGreaterThan(60);
    });
  }
});
