// Micro-benchmark of the middlebox engine: packets/s for pass-through and for ISN + SACK
// rewriting over a synthetic flow of crafted packets (server data with timestamps, client
// ACKs with timestamps and SACK blocks). Run: npm run build && node --expose-gc dist/bench/engine.js
import { MiddleboxEngine } from '../src/middlebox/engine.js';
import type { MiddleboxProfile, PathModel } from '../src/scenario/model.js';
import { TCP_ACK, TCP_SYN, buildTcpPacket, type TcpOption } from '../src/packet/index.js';

const C = '198.18.1.2',
  S = '198.18.2.2',
  CP = 40000,
  SP = 80;
const ts = (v: number): TcpOption => ({ kind: 8, name: 'timestamps', offset: 0, tsval: v, tsecr: v - 1 });
const nop = (): TcpOption => ({ kind: 1, name: 'nop', offset: 0 });

function flow(n: number): Uint8Array[] {
  const pkts: Uint8Array[] = [];
  let sSeq = 5001;
  for (let i = 0; i < n; i++) {
    pkts.push(
      buildTcpPacket({
        src: S,
        dst: C,
        srcPort: SP,
        dstPort: CP,
        seq: sSeq,
        ack: 1001,
        flags: TCP_ACK,
        options: [nop(), nop(), ts(i + 2)],
        payload: 1448,
      }),
    );
    sSeq += 1448;
    if (i % 2 === 1) {
      pkts.push(
        buildTcpPacket({
          src: C,
          dst: S,
          srcPort: CP,
          dstPort: SP,
          seq: 1001,
          ack: sSeq - 2 * 1448,
          flags: TCP_ACK,
          options: [
            nop(),
            nop(),
            ts(i + 1),
            nop(),
            nop(),
            { kind: 5, name: 'sack', offset: 0, blocks: [[sSeq - 1448, sSeq]] },
          ],
        }),
      );
    }
  }
  return pkts;
}

const path: PathModel = { delayMs: 0, rateMbit: 0, loss: { kind: 'none' }, reorder: { rate: 0, extraDelayMs: 0 } };
const base: MiddleboxProfile = {
  name: 'transparent',
  isn: { client: false, server: false },
  sackTranslation: false,
  options: { sackPermitted: { strip: 'none' }, windowScale: { strip: 'none' }, timestamps: { strip: 'none' } },
};

function bench(label: string, profile: MiddleboxProfile, seconds = 2): void {
  const e = new MiddleboxEngine({ profile, path, seed: 1 });
  const syn = buildTcpPacket({ src: C, dst: S, srcPort: CP, dstPort: SP, seq: 1000, flags: TCP_SYN });
  const synack = buildTcpPacket({
    src: S,
    dst: C,
    srcPort: SP,
    dstPort: CP,
    seq: 5000,
    ack: 1001,
    flags: TCP_SYN | TCP_ACK,
  });
  e.process(syn, 0, syn.length, 0);
  e.process(synack, 0, synack.length, 0);
  const pkts = flow(256);
  // Warm up, then measure whole passes over the flow (packets are rewritten in place each pass,
  // which keeps them valid: offsets just accumulate).
  for (let k = 0; k < 200; k++) for (const p of pkts) e.process(p, 0, p.length, 0);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 50; k++)
      for (let i = 0; i < pkts.length; i++) {
        const p = pkts[i]!;
        e.process(p, 0, p.length, 0);
      }
    n += 50 * pkts.length;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - t0) / 1e9;
  const heap1 = process.memoryUsage().heapUsed;
  const c = e.counters();
  console.log(
    `${label.padEnd(28)} ${(n / secs).toFixed(0).padStart(10)} packets/s  (${n} packets in ${secs.toFixed(2)} s; rewritten ${c.packetsRewritten}; heap ${((heap1 - heap0) / 1024).toFixed(0)} KiB${gc ? '' : ', run with --expose-gc for a clean heap baseline'})`,
  );
}

bench('pass-through', base);
bench('ISN + SACK translation', {
  ...base,
  name: 'asa-fixed',
  isn: { client: true, server: true },
  sackTranslation: true,
});
bench('ISN, SACK untranslated', { ...base, name: 'asa', isn: { client: true, server: true }, sackTranslation: false });
