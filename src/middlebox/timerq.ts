// The hold queue of the middlebox: packets the engine asked to delay (path delay, reordering)
// wait here until their release time, then go back to the kernel in batches.
//
// - A binary min-heap keyed by (releaseAt, arrival sequence): equal release times leave in
//   arrival order, so a constant delay never reorders a flow.
// - Entries live in growable struct-of-arrays (no object per packet).
// - Modified packets' bytes are copied into one ring-shaped byte pool. Entries usually leave
//   in allocation order (constant delay), so the ring reclaims space at its tail; an entry
//   released early or late only delays reclamation. When the pool is full, the bytes get
//   their own Uint8Array (counted as poolOverflows: a sign the pool should be bigger).
// Unmodified packets carry no bytes at all: the kernel still holds the original.
// Nothing here knows about timers; the caller arms one timer for nextAt().

import { RDESC, VERDICT } from './nfqueue.js';

/** Receives released verdicts: rdesc (RDESC layout) with offsets into data. */
export type ReleaseSink = (count: number, rdesc: Int32Array, data: Uint8Array | null) => void;

export interface HoldQueueOptions {
  /** Byte pool for held modified packets. Default 32 MiB (about 20k full-size packets). */
  poolBytes?: number;
  /** Initial entry capacity (grows by doubling). Default 1024. */
  initialCapacity?: number;
  /** Max verdicts per sink call. Default 1024. */
  maxBatch?: number;
}

export interface HoldQueueStats {
  /** Packets currently held. */
  depth: number;
  maxDepth: number;
  pushed: number;
  released: number;
  /** Held packets whose bytes did not fit in the pool. */
  poolOverflows: number;
  poolBytes: number;
  /** Bytes of the pool in use right now. */
  poolUsed: number;
}

// Bounds (the `!` on typed-array reads below; no check per access on this per-packet path):
// every entry index e held in heap, freeList or order is < cap, and every array indexed by an
// entry has cap elements (grow() resizes them all together); heap positions read are < n <= cap,
// freeList positions < freeTop <= cap, order positions are taken modulo cap.
export class HoldQueue {
  private cap: number;
  private at: Float64Array;
  private seq: Float64Array;
  private id: Int32Array;
  private verdict: Int32Array;
  private off: Int32Array; // offset in pool, -1 = own buffer (overflow[i]) or no payload
  private len: Int32Array; // -1 = no payload
  private freed: Uint8Array;
  private overflow: (Uint8Array | null)[];
  private freeList: Int32Array; // stack of free entry indices
  private freeTop: number;
  private heap: Int32Array; // entry indices
  private n = 0;
  private nextSeq = 0;

  // Byte pool, used as a ring: live bytes are [tail, head) or, once wrapped, [tail, end) + [0, head).
  private readonly pool: Uint8Array;
  private head = 0;
  private wrapped = false;
  // Pool entries in allocation order (ring of entry indices).
  private order: Int32Array;
  private orderHead = 0; // oldest
  private orderLen = 0;

  private readonly rdesc: Int32Array;
  private readonly one = new Int32Array(RDESC.STRIDE);
  private readonly maxBatch: number;
  private st = { maxDepth: 0, pushed: 0, released: 0, poolOverflows: 0 };

  constructor(opts: HoldQueueOptions = {}) {
    this.cap = Math.max(16, opts.initialCapacity ?? 1024);
    this.at = new Float64Array(this.cap);
    this.seq = new Float64Array(this.cap);
    this.id = new Int32Array(this.cap);
    this.verdict = new Int32Array(this.cap);
    this.off = new Int32Array(this.cap);
    this.len = new Int32Array(this.cap);
    this.freed = new Uint8Array(this.cap);
    this.overflow = new Array<Uint8Array | null>(this.cap).fill(null);
    this.freeList = new Int32Array(this.cap);
    for (let i = 0; i < this.cap; i++) this.freeList[i] = this.cap - 1 - i;
    this.freeTop = this.cap;
    this.heap = new Int32Array(this.cap);
    this.order = new Int32Array(this.cap);
    this.pool = new Uint8Array(opts.poolBytes ?? 32 << 20);
    this.maxBatch = Math.max(1, opts.maxBatch ?? 1024);
    this.rdesc = new Int32Array(this.maxBatch * RDESC.STRIDE);
  }

  get size(): number {
    return this.n;
  }

  /** Earliest release time, or Infinity when empty. */
  nextAt(): number {
    return this.n === 0 ? Infinity : this.at[this.heap[0]!]!; // n > 0: heap[0] is an entry
  }

  /**
   * Hold packet `id` until `releaseAt`. With `bytes` (the packet was modified), copies
   * bytes[off, off+len) now: the caller's buffer is reused right after.
   */
  push(releaseAt: number, id: number, verdict: number, bytes: Uint8Array | null, off = 0, len = 0): void {
    if (verdict !== VERDICT.ACCEPT && verdict !== VERDICT.DROP)
      throw new RangeError(`HoldQueue: verdict must be ACCEPT or DROP, got ${verdict}`);
    if (this.freeTop === 0) this.grow();
    const e = this.freeList[--this.freeTop]!; // freeTop > 0: grown just above if it was 0
    this.at[e] = releaseAt;
    this.seq[e] = this.nextSeq++;
    this.id[e] = id;
    this.verdict[e] = verdict;
    this.freed[e] = 0;
    this.overflow[e] = null;
    if (bytes && verdict === VERDICT.ACCEPT) {
      this.len[e] = len;
      const p = this.alloc(len);
      if (p >= 0) {
        this.pool.set(bytes.subarray(off, off + len), p);
        this.off[e] = p;
        this.order[(this.orderHead + this.orderLen) % this.cap] = e;
        this.orderLen++;
      } else {
        this.overflow[e] = bytes.slice(off, off + len);
        this.off[e] = -1;
        this.st.poolOverflows++;
      }
    } else {
      this.len[e] = -1;
      this.off[e] = -1;
    }
    // sift up
    let i = this.n++;
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(e, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
    this.st.pushed++;
    if (this.n > this.st.maxDepth) this.st.maxDepth = this.n;
  }

  /**
   * Release every packet with releaseAt <= now, earliest first (FIFO among equal times),
   * through `sink` in batches. Returns how many were released.
   */
  releaseDue(now: number, sink: ReleaseSink): number {
    let count = 0;
    let total = 0;
    const r = this.rdesc;
    while (this.n > 0 && this.at[this.heap[0]!]! <= now) {
      // n > 0: heap[0] is an entry
      const e = this.popMin();
      const own = this.overflow[e];
      if (own) {
        // Keep order: flush what is pending, then this one alone with its own bytes.
        if (count > 0) {
          sink(count, r, this.pool);
          count = 0;
        }
        const o = this.one;
        o[RDESC.ID] = this.id[e]!;
        o[RDESC.VERDICT] = this.verdict[e]!;
        o[RDESC.OFF] = 0;
        o[RDESC.LEN] = own.length;
        this.overflow[e] = null;
        this.freeEntry(e);
        sink(1, o, own);
      } else {
        const b = count * RDESC.STRIDE;
        r[b + RDESC.ID] = this.id[e]!;
        r[b + RDESC.VERDICT] = this.verdict[e]!;
        r[b + RDESC.OFF] = Math.max(0, this.off[e]!);
        r[b + RDESC.LEN] = this.len[e]!;
        // The pool bytes stay intact until the next push(): sink runs before that.
        this.freeEntry(e);
        if (++count === this.maxBatch) {
          sink(count, r, this.pool);
          count = 0;
        }
      }
      total++;
    }
    if (count > 0) sink(count, r, this.pool);
    this.st.released += total;
    return total;
  }

  /** Forget everything (on exit: nothing more is released; the kernel drops them). */
  clear(): void {
    this.n = 0;
    this.freeTop = this.cap;
    for (let i = 0; i < this.cap; i++) {
      this.freeList[i] = this.cap - 1 - i;
      this.overflow[i] = null;
    }
    this.orderHead = 0;
    this.orderLen = 0;
    this.head = 0;
    this.wrapped = false;
  }

  stats(): HoldQueueStats {
    return {
      depth: this.n,
      maxDepth: this.st.maxDepth,
      pushed: this.st.pushed,
      released: this.st.released,
      poolOverflows: this.st.poolOverflows,
      poolBytes: this.pool.length,
      poolUsed: this.poolUsed(),
    };
  }

  private poolUsed(): number {
    if (this.orderLen === 0) return 0; // else order[orderHead] is a live pool entry
    const tail = this.off[this.order[this.orderHead]!]!;
    return this.wrapped ? this.pool.length - tail + this.head : this.head - tail;
  }

  private less(a: number, b: number): boolean {
    const ta = this.at[a]!,
      tb = this.at[b]!;
    return ta < tb || (ta === tb && this.seq[a]! < this.seq[b]!);
  }

  private popMin(): number {
    const h = this.heap;
    const top = h[0]!; // callers pop only when n > 0
    const last = h[--this.n]!;
    if (this.n > 0) {
      // sift down
      let i = 0;
      const n = this.n;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const rr = l + 1;
        const c = rr < n && this.less(h[rr]!, h[l]!) ? rr : l; // l < n, rr < n: checked
        if (!this.less(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  private freeEntry(e: number): void {
    if (this.off[e]! >= 0) {
      this.freed[e] = 1;
      // Reclaim ring space from the oldest allocation while it is free.
      while (this.orderLen > 0) {
        const oldest = this.order[this.orderHead]!;
        if (!this.freed[oldest]) break;
        const oldOff = this.off[oldest]!;
        this.off[oldest] = -1;
        this.freed[oldest] = 0;
        this.freeList[this.freeTop++] = oldest;
        this.orderHead = (this.orderHead + 1) % this.cap;
        this.orderLen--;
        if (this.orderLen === 0) {
          this.head = 0;
          this.wrapped = false;
        } else if (this.wrapped && this.off[this.order[this.orderHead]!]! < oldOff) {
          this.wrapped = false; // the tail crossed the end of the pool
        }
      }
      return;
    }
    this.freeList[this.freeTop++] = e;
  }

  /** Ring allocation; -1 when there is no room. */
  private alloc(len: number): number {
    const size = this.pool.length;
    if (this.orderLen === 0) {
      this.head = 0;
      this.wrapped = false;
    }
    const tail = this.orderLen === 0 ? 0 : this.off[this.order[this.orderHead]!]!;
    if (!this.wrapped) {
      if (this.head + len <= size) {
        const p = this.head;
        this.head += len;
        return p;
      }
      if (len < tail) {
        this.wrapped = true;
        this.head = len;
        return 0;
      }
      return -1;
    }
    if (this.head + len < tail) {
      const p = this.head;
      this.head += len;
      return p;
    }
    return -1;
  }

  private grow(): void {
    const old = this.cap;
    const cap = old * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.at = f64(this.at);
    this.seq = f64(this.seq);
    this.id = i32(this.id);
    this.verdict = i32(this.verdict);
    this.off = i32(this.off);
    this.len = i32(this.len);
    const fr = new Uint8Array(cap);
    fr.set(this.freed);
    this.freed = fr;
    this.overflow.length = cap;
    this.overflow.fill(null, old);
    this.heap = i32(this.heap);
    // The allocation-order ring must be unrolled into the bigger array.
    const order = new Int32Array(cap);
    for (let k = 0; k < this.orderLen; k++) order[k] = this.order[(this.orderHead + k) % old]!;
    this.order = order;
    this.orderHead = 0;
    const fl = new Int32Array(cap);
    fl.set(this.freeList.subarray(0, this.freeTop));
    for (let i = old; i < cap; i++) fl[this.freeTop++] = cap - 1 - (i - old);
    this.freeList = fl;
    this.cap = cap;
  }
}
