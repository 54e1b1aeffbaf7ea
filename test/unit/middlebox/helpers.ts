// Shared builders for the middlebox tests: profiles, paths and crafted packets.
import { expect } from 'vitest';
import type { MiddleboxProfile, PathModel } from '../../../src/scenario/model.js';
import {
  TCP_ACK,
  TCP_SYN,
  buildTcpPacket,
  decode,
  tcpChecksum,
  tcpChecksumField,
  type TcpOption,
  type TcpPacketSpec,
} from '../../../src/packet/index.js';
import { MiddleboxEngine } from '../../../src/middlebox/engine.js';

export const CLIENT = '198.18.1.2';
export const SERVER = '198.18.2.2';
export const CPORT = 40001;
export const SPORT = 80;

export function profile(
  over: Partial<MiddleboxProfile> & { opts?: Partial<MiddleboxProfile['options']> } = {},
): MiddleboxProfile {
  const { opts, ...rest } = over;
  return {
    name: 'test',
    isn: { client: false, server: false },
    sackTranslation: false,
    options: {
      sackPermitted: { strip: 'none' },
      windowScale: { strip: 'none' },
      timestamps: { strip: 'none' },
      ...opts,
    },
    ...rest,
  };
}

export function path(over: Partial<PathModel> = {}): PathModel {
  return { delayMs: 0, rateMbit: 0, loss: { kind: 'none' }, reorder: { rate: 0, extraDelayMs: 0 }, ...over };
}

export const asa = (over: Parameters<typeof profile>[0] = {}) =>
  profile({ isn: { client: true, server: true }, ...over });

export function engine(p: MiddleboxProfile = profile(), pm: PathModel = path(), seed = 1): MiddleboxEngine {
  return new MiddleboxEngine({ profile: p, path: pm, seed });
}

export const O = {
  mss: (mss = 1460): TcpOption => ({ kind: 2, name: 'mss', offset: 0, mss }),
  nop: (): TcpOption => ({ kind: 1, name: 'nop', offset: 0 }),
  ws: (shift = 7): TcpOption => ({ kind: 3, name: 'wscale', offset: 0, shift }),
  sackPerm: (): TcpOption => ({ kind: 4, name: 'sack-permitted', offset: 0 }),
  ts: (tsval = 1000, tsecr = 0): TcpOption => ({ kind: 8, name: 'timestamps', offset: 0, tsval, tsecr }),
  sack: (...blocks: Array<[number, number]>): TcpOption => ({
    kind: 5,
    name: 'sack',
    offset: 0,
    blocks: blocks.map(([l, r]) => [l >>> 0, r >>> 0]),
  }),
};

type Spec = Omit<TcpPacketSpec, 'src' | 'dst' | 'srcPort' | 'dstPort'> & { cport?: number };

/** Client→server packet. */
export const c2s = (s: Spec) =>
  buildTcpPacket({ src: CLIENT, dst: SERVER, srcPort: s.cport ?? CPORT, dstPort: SPORT, ...s });
/** Server→client packet. */
export const s2c = (s: Spec) =>
  buildTcpPacket({ src: SERVER, dst: CLIENT, srcPort: SPORT, dstPort: s.cport ?? CPORT, ...s });

export const synOpts = () => [O.mss(), O.sackPerm(), O.ts(), O.nop(), O.ws(7)];
export const SYN = TCP_SYN;
export const SYNACK = TCP_SYN | TCP_ACK;
export const ACK = TCP_ACK;

/** Process a packet at time `now` and return [verdict, decoded packet after processing]. */
export function run(e: MiddleboxEngine, p: Uint8Array, now = 0) {
  const len = p.length;
  const v = e.process(p, 0, p.length, now);
  expect(p.length).toBe(len);
  return { v, d: decode(p), modified: e.modified };
}

/** The TCP checksum field equals a full recomputation. */
export function expectValidChecksum(p: Uint8Array): void {
  expect(tcpChecksumField(p, 20).toString(16)).toBe(tcpChecksum(p, 0).toString(16));
}

/** Handshake through the engine: client ISN cIsn, server ISN sIsn. */
export function handshake(e: MiddleboxEngine, cIsn: number, sIsn: number, cport = CPORT) {
  const a = run(e, c2s({ cport, seq: cIsn, flags: SYN, options: synOpts() }));
  const b = run(e, s2c({ cport, seq: sIsn, ack: (a.d.tcp!.seq + 1) >>> 0, flags: SYNACK, options: synOpts() }));
  const c = run(e, c2s({ cport, seq: cIsn + 1, ack: (b.d.tcp!.seq + 1) >>> 0, flags: ACK }));
  return { syn: a, synack: b, ack: c };
}
