// Path impairments: the middlebox is the path (no netem in this kernel), so it delays, drops,
// reorders and makes some packets late (held until later ones overtook them). Loss touches first transmissions of data only, so the sender's retransmission
// of a dropped segment always gets through, and every random decision is keyed (rng.ts).
import type { Direction, PathModel } from '../../scenario/model.js';
import { PURPOSE_LOSS, PURPOSE_REORDER, keyedUniform } from '../rng.js';

/** Bit 1: client→server (to-server), bit 2: server→client (to-client). */
export function directionMask(d: Direction): number {
  return d === 'to-server' ? 1 : d === 'to-client' ? 2 : 3;
}

export class PathImpairment {
  readonly delayMs: number;
  private readonly lossKind: 0 | 1 | 2; // none, every-nth, rate
  private readonly lossDirs: number;
  private readonly nth: number;
  private readonly lossRate: number;
  private readonly reorderRate: number;
  private readonly extraDelayMs: number;
  // Late packets: hold the every-th pure client ACK / first transmission of server data (0 = off).
  private readonly lateAckEvery: number;
  private readonly lateAckMs: number;
  private readonly lateDataEvery: number;
  private readonly lateDataMs: number;

  constructor(
    path: PathModel,
    private readonly seedLo: number,
    private readonly seedHi: number,
  ) {
    const nonNeg = (what: string, v: number) => {
      if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${what} must be a finite number >= 0, got ${v}`);
    };
    nonNeg('delayMs', path.delayMs);
    nonNeg('reorder.extraDelayMs', path.reorder.extraDelayMs);
    if (!(path.reorder.rate >= 0 && path.reorder.rate <= 1))
      throw new RangeError(`reorder.rate must be in [0, 1], got ${path.reorder.rate}`);
    this.delayMs = path.delayMs;
    this.reorderRate = path.reorder.extraDelayMs > 0 ? path.reorder.rate : 0;
    this.extraDelayMs = path.reorder.extraDelayMs;
    const rule = (what: string, r: { every: number; holdMs: number } | undefined): [number, number] => {
      if (!r) return [0, 0];
      // every = 1 would delay every such packet alike: nothing would overtake anything.
      if (!(Number.isInteger(r.every) && r.every >= 2))
        throw new RangeError(`late.${what}.every must be an integer >= 2, got ${r.every}`);
      if (!(Number.isFinite(r.holdMs) && r.holdMs > 0))
        throw new RangeError(`late.${what}.holdMs must be a finite number > 0, got ${r.holdMs}`);
      return [r.every, r.holdMs];
    };
    [this.lateAckEvery, this.lateAckMs] = rule('clientAcks', path.late?.clientAcks);
    [this.lateDataEvery, this.lateDataMs] = rule('serverData', path.late?.serverData);
    const loss = path.loss;
    if (loss.kind === 'every-nth') {
      if (!(Number.isInteger(loss.n) && loss.n >= 1))
        throw new RangeError(`loss n must be an integer >= 1, got ${loss.n}`);
      this.lossKind = 1;
      this.nth = loss.n;
      this.lossRate = 0;
      this.lossDirs = directionMask(loss.direction);
    } else if (loss.kind === 'rate') {
      if (!(loss.rate >= 0 && loss.rate <= 1)) throw new RangeError(`loss rate must be in [0, 1], got ${loss.rate}`);
      this.lossKind = loss.rate > 0 ? 2 : 0;
      this.nth = 0;
      this.lossRate = loss.rate;
      this.lossDirs = directionMask(loss.direction);
    } else {
      this.lossKind = 0;
      this.nth = 0;
      this.lossRate = 0;
      this.lossDirs = 0;
    }
  }

  /**
   * Whether to drop a first transmission of data: the `count`-th (1-based) of its flow and
   * direction, starting `relSeq` bytes after the direction's ISN.
   */
  drop(ordinal: number, dir: number, count: number, relSeq: number): boolean {
    if (this.lossKind === 0 || !(this.lossDirs & (1 << dir))) return false;
    if (this.lossKind === 1) return count % this.nth === 0;
    return keyedUniform(this.seedLo, this.seedHi, PURPOSE_LOSS, ordinal, dir, relSeq) < this.lossRate;
  }

  /** Extra hold for the `count`-th (1-based) pure ACK client→server of a flow, else 0. */
  lateAckHold(count: number): number {
    return this.lateAckEvery > 0 && count % this.lateAckEvery === 0 ? this.lateAckMs : 0;
  }

  /** Extra hold for the `count`-th (1-based) first transmission of data server→client of a flow, else 0. */
  lateDataHold(count: number): number {
    return this.lateDataEvery > 0 && count % this.lateDataEvery === 0 ? this.lateDataMs : 0;
  }

  /** Extra hold for a data segment chosen for reordering (keyed like loss), else 0. */
  reorderHold(ordinal: number, dir: number, relSeq: number): number {
    if (this.reorderRate === 0) return 0;
    return keyedUniform(this.seedLo, this.seedHi, PURPOSE_REORDER, ordinal, dir, relSeq) < this.reorderRate
      ? this.extraDelayMs
      : 0;
  }
}
