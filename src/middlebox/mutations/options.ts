// Option rewriting as a firewall or load balancer does it: options are overwritten with NOPs
// (kind 1) so the header length never changes, or a window-scale shift is replaced.
import type { MiddleboxProfile, Sides } from '../../scenario/model.js';
import { onesSum } from '../../packet/checksum.js';
import { csumAdjust } from '../../packet/checksum.js';
import { readU8 } from '../../packet/bytes.js';
import { TCPOPT_SACK_PERM, TCPOPT_TIMESTAMP, TCPOPT_WSCALE } from '../../packet/options.js';
import { TCP_ACK, TCP_SYN } from '../../packet/tcp.js';
import type { PacketContext } from './context.js';

/** Bit 1: applies to SYN, bit 2: applies to SYN-ACK. */
export function sidesMask(s: Sides): number {
  return s === 'syn' ? 1 : s === 'synack' ? 2 : s === 'both' ? 3 : 0;
}

/** Overwrite buf[o, o+len) with NOPs, keeping the checksum right; o is inside the TCP header at t. */
export function nopOut(ctx: PacketContext, o: number, len: number): void {
  const { buf, t } = ctx;
  // Sum the 16-bit words (aligned to the TCP header) covering the option before and after.
  const a = t + ((o - t) & ~1);
  const e = t + ((o - t + len + 1) & ~1);
  const before = onesSum(buf, a, e - a);
  buf.fill(1, o, o + len);
  ctx.check = csumAdjust(ctx.check, before, onesSum(buf, a, e - a));
  ctx.modified = true;
}

export class OptionRewriter {
  readonly active: boolean;
  private readonly wsStrip: number;
  private readonly wsSetSyn: number;
  private readonly wsSetSynAck: number;
  private readonly spStrip: number;
  private readonly tsStrip: number;
  private readonly tsAll: boolean;
  /** Options overwritten with NOPs, and window-scale shifts replaced. */
  stripped = 0;
  wscaleSet = 0;

  constructor(opts: MiddleboxProfile['options']) {
    this.wsStrip = sidesMask(opts.windowScale.strip);
    this.wsSetSyn = opts.windowScale.setSyn ?? -1;
    this.wsSetSynAck = opts.windowScale.setSynAck ?? -1;
    for (const v of [this.wsSetSyn, this.wsSetSynAck]) {
      if (v !== -1 && !(Number.isInteger(v) && v >= 0 && v <= 255))
        throw new RangeError(`window scale shift must be an integer 0..255, got ${v}`);
    }
    this.spStrip = sidesMask(opts.sackPermitted.strip);
    this.tsAll = opts.timestamps.strip === 'all';
    this.tsStrip = this.tsAll ? 3 : sidesMask(opts.timestamps.strip as Sides);
    this.active =
      this.wsStrip !== 0 || this.wsSetSyn >= 0 || this.wsSetSynAck >= 0 || this.spStrip !== 0 || this.tsStrip !== 0;
  }

  /** Apply to the packet in ctx (options already scanned). */
  apply(ctx: PacketContext): void {
    if (!this.active || ctx.nopts === 0) return;
    const syn = ctx.flags & TCP_SYN;
    if (!syn && !this.tsAll) return;
    const side = syn ? (ctx.flags & TCP_ACK ? 2 : 1) : 0;
    const { buf } = ctx;
    // i < nopts <= opts.length; o: an option start inside the TCP header (scanTcpOptions).
    for (let i = 0; i < ctx.nopts; i++) {
      const o = ctx.opts[i]!;
      const kind = readU8(buf, o);
      if (kind === TCPOPT_WSCALE && side) {
        if (this.wsStrip & side) {
          nopOut(ctx, o, 3);
          this.stripped++;
        } else {
          const v = side === 1 ? this.wsSetSyn : this.wsSetSynAck;
          if (v >= 0 && buf[o + 2] !== v) {
            // The shift sits at o+2: adjust the word holding it.
            const a = ctx.t + ((o + 2 - ctx.t) & ~1);
            const before = onesSum(buf, a, 2);
            buf[o + 2] = v;
            ctx.check = csumAdjust(ctx.check, before, onesSum(buf, a, 2));
            ctx.modified = true;
            this.wscaleSet++;
          }
        }
      } else if (kind === TCPOPT_SACK_PERM && this.spStrip & side) {
        nopOut(ctx, o, 2);
        this.stripped++;
      } else if (kind === TCPOPT_TIMESTAMP && (this.tsAll || this.tsStrip & side)) {
        nopOut(ctx, o, 10);
        this.stripped++;
      }
    }
  }
}
