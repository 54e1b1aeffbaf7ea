// ISN randomization: each direction's sequence numbers are shifted by a per-flow offset and
// the other direction's ACK numbers shifted back, as a Cisco ASA does; SACK block edges are
// shifted back too (translation on) or left alone (translation off: the bug this lab is about).
import type { MiddleboxProfile } from '../../scenario/model.js';
import { csumAdjust, csumUpdate32, onesSum } from '../../packet/checksum.js';
import { readU8, readU32, writeU32 } from '../../packet/bytes.js';
import { TCPOPT_SACK } from '../../packet/options.js';
import { TCP_ACK } from '../../packet/tcp.js';
import { flowOffset } from '../rng.js';
import type { FlowTable } from '../flows.js';
import type { PacketContext } from './context.js';

export class IsnRewriter {
  private readonly client: boolean;
  private readonly server: boolean;
  private readonly fixedClient: number | undefined;
  private readonly fixedServer: number | undefined;
  readonly translateSack: boolean;
  sackBlocksSeen = 0;
  sackBlocksTranslated = 0;
  sackBlocksUntranslated = 0;

  constructor(
    profile: MiddleboxProfile,
    private readonly seedLo: number,
    private readonly seedHi: number,
  ) {
    this.client = profile.isn.client;
    this.server = profile.isn.server;
    this.translateSack = profile.sackTranslation;
    const fc = profile.fixedOffsets?.client;
    const fs = profile.fixedOffsets?.server;
    for (const v of [fc, fs]) {
      if (v !== undefined && !(Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff)) {
        throw new RangeError(`fixed ISN offset must be a 32-bit integer, got ${v}`);
      }
    }
    this.fixedClient = fc === undefined ? undefined : fc >>> 0;
    this.fixedServer = fs === undefined ? undefined : fs >>> 0;
  }

  /**
   * Give flow f its offsets: keyed by (seed, ordinal, direction), so they do not depend on
   * timing; a fixed offset replaces the random one; a side not randomized gets 0.
   */
  assign(table: FlowTable, f: number): void {
    table.offset[2 * f] = this.client ? (this.fixedClient ?? flowOffset(this.seedLo, this.seedHi, f, 0)) : 0;
    table.offset[2 * f + 1] = this.server ? (this.fixedServer ?? flowOffset(this.seedLo, this.seedHi, f, 1)) : 0;
  }

  /** Shift seq by this direction's offset and ack back by the other's. */
  rewriteSeqAck(ctx: PacketContext): void {
    const { buf, t, table } = ctx;
    const fd = 2 * ctx.flow + ctx.dir; // ctx.flow: a flow of the table, in bounds (see FlowTable)
    const own = table.offset[fd]!;
    if (own !== 0) {
      const seq = readU32(buf, t + 4);
      const n = (seq + own) >>> 0;
      writeU32(buf, t + 4, n);
      ctx.check = csumUpdate32(ctx.check, seq, n);
      ctx.modified = true;
    }
    if (ctx.flags & TCP_ACK) {
      const peer = table.offset[fd ^ 1]!;
      if (peer !== 0) {
        const ack = readU32(buf, t + 8);
        const n = (ack - peer) >>> 0;
        writeU32(buf, t + 8, n);
        ctx.check = csumUpdate32(ctx.check, ack, n);
        ctx.modified = true;
      }
    }
  }

  /**
   * SACK blocks acknowledge the peer's data, so their edges are in the peer's sequence space:
   * translating means subtracting the peer's offset. Blocks are counted as untranslated only
   * when that offset is non-zero (otherwise they are right as they are).
   */
  rewriteSack(ctx: PacketContext): void {
    const { buf, table } = ctx;
    // ctx.flow: a flow of the table, in bounds (see FlowTable).
    const peer = table.offset[2 * ctx.flow + (ctx.dir ^ 1)]!;
    // i < nopts <= opts.length; scanTcpOptions stored o only for an option whose length byte
    // (o + 1) and whole body lie inside the TCP header, which the engine checked is inside buf.
    for (let i = 0; i < ctx.nopts; i++) {
      const o = ctx.opts[i]!;
      if (buf[o] !== TCPOPT_SACK) continue;
      const len = readU8(buf, o + 1);
      const blocks = (len - 2) >>> 3;
      this.sackBlocksSeen += blocks;
      if (peer === 0) continue;
      if (!this.translateSack) {
        this.sackBlocksUntranslated += blocks;
        table.sackUntranslated[ctx.flow]! += blocks;
        continue;
      }
      const t = ctx.t;
      const a = t + ((o - t) & ~1);
      const e = t + ((o - t + len + 1) & ~1);
      const before = onesSum(buf, a, e - a);
      for (let p = o + 2; p < o + len; p += 4) writeU32(buf, p, (readU32(buf, p) - peer) >>> 0);
      ctx.check = csumAdjust(ctx.check, before, onesSum(buf, a, e - a));
      ctx.modified = true;
      this.sackBlocksTranslated += blocks;
      table.sackTranslated[ctx.flow]! += blocks;
    }
  }
}
