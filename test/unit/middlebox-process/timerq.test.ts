import { describe, expect, it } from 'vitest';
import { HoldQueue } from '../../../src/middlebox/timerq.js';
import { RDESC, VERDICT } from '../../../src/middlebox/nfqueue.js';

interface Released {
  id: number;
  verdict: number;
  bytes: number[] | null;
}

/** A sink that copies out what it is given (the arrays are reused by the queue). */
function collector() {
  const out: Released[] = [];
  let calls = 0;
  const sink = (count: number, rdesc: Int32Array, data: Uint8Array | null) => {
    calls++;
    for (let i = 0; i < count; i++) {
      const b = i * RDESC.STRIDE;
      const len = rdesc[b + RDESC.LEN]!;
      out.push({
        id: rdesc[b + RDESC.ID]!,
        verdict: rdesc[b + RDESC.VERDICT]!,
        bytes: len < 0 ? null : Array.from(data!.subarray(rdesc[b + RDESC.OFF]!, rdesc[b + RDESC.OFF]! + len)),
      });
    }
  };
  return { out, sink, calls: () => calls };
}

const pkt = (tag: number, len = 4) => Uint8Array.from({ length: len }, (_, i) => (tag + i) & 0xff);

describe('HoldQueue', () => {
  it('releases only what is due, earliest first', () => {
    const q = new HoldQueue();
    q.push(30, 3, VERDICT.ACCEPT, null);
    q.push(10, 1, VERDICT.ACCEPT, null);
    q.push(20, 2, VERDICT.DROP, null);
    expect(q.nextAt()).toBe(10);
    const c = collector();
    expect(q.releaseDue(20, c.sink)).toBe(2);
    expect(c.out).toEqual([
      { id: 1, verdict: 1, bytes: null },
      { id: 2, verdict: 0, bytes: null },
    ]);
    expect(q.nextAt()).toBe(30);
    expect(q.size).toBe(1);
    expect(q.releaseDue(29.9, c.sink)).toBe(0);
    expect(q.releaseDue(30, c.sink)).toBe(1);
    expect(q.nextAt()).toBe(Infinity);
  });

  it('keeps arrival order among equal release times (delay alone never reorders)', () => {
    const q = new HoldQueue({ initialCapacity: 16 });
    const ids = Array.from({ length: 500 }, (_, i) => i * 7 + 1);
    // Many packets per timestamp, as in one batch: all share nowMs.
    ids.forEach((id, i) => q.push(100 + Math.floor(i / 50), id, VERDICT.ACCEPT, pkt(id), 0, 4));
    const c = collector();
    expect(q.releaseDue(1e9, c.sink)).toBe(500);
    expect(c.out.map((r) => r.id)).toEqual(ids);
    expect(c.out.every((r, i) => r.bytes!.join() === Array.from(pkt(ids[i]!)).join())).toBe(true);
  });

  it('copies modified bytes at push time (the caller reuses its buffer)', () => {
    const q = new HoldQueue();
    const buf = new Uint8Array(64);
    buf.set([1, 2, 3, 4, 5, 6], 10);
    q.push(5, 42, VERDICT.ACCEPT, buf, 10, 6);
    buf.fill(0xee);
    const c = collector();
    q.releaseDue(5, c.sink);
    expect(c.out).toEqual([{ id: 42, verdict: 1, bytes: [1, 2, 3, 4, 5, 6] }]);
  });

  it('a dropped packet never carries bytes', () => {
    const q = new HoldQueue();
    q.push(1, 9, VERDICT.DROP, pkt(1), 0, 4);
    const c = collector();
    q.releaseDue(1, c.sink);
    expect(c.out).toEqual([{ id: 9, verdict: 0, bytes: null }]);
  });

  it('rejects HOLD as a release verdict', () => {
    expect(() => new HoldQueue().push(1, 1, VERDICT.HOLD, null)).toThrow(RangeError);
  });

  it('reuses the pool as a ring and falls back to own buffers when full, preserving order and bytes', () => {
    // 100-byte pool, 30-byte packets: at most 3 fit at once.
    const q = new HoldQueue({ poolBytes: 100, initialCapacity: 16 });
    const c = collector();
    let id = 0;
    const expected: Released[] = [];
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 5; k++) {
        id++;
        const p = pkt(id, 30);
        q.push(round, id, VERDICT.ACCEPT, p, 0, 30);
        expected.push({ id, verdict: 1, bytes: Array.from(p) });
      }
      q.releaseDue(round, c.sink);
      expect(q.stats().poolUsed).toBe(0);
    }
    expect(c.out).toEqual(expected);
    const s = q.stats();
    expect(s.poolOverflows).toBe(50 * 2); // 2 of every 5 did not fit
    expect(s.depth).toBe(0);
    expect(s.maxDepth).toBe(5);
  });

  it('out-of-order releases (reordering) pin the pool tail but never corrupt bytes', () => {
    const q = new HoldQueue({ poolBytes: 1000, initialCapacity: 16 });
    const c = collector();
    const want = new Map<number, number[]>();
    let now = 0;
    let id = 0;
    // Random-ish schedule: most packets wait 20, every 7th waits 45 (reordered).
    for (let step = 0; step < 400; step++) {
      now += 1;
      for (let k = 0; k < 3; k++) {
        id++;
        const len = 10 + (id % 23);
        const p = pkt(id * 3, len);
        want.set(id, Array.from(p));
        q.push(now + (id % 7 === 0 ? 45 : 20), id, VERDICT.ACCEPT, p, 0, len);
      }
      q.releaseDue(now, c.sink);
    }
    q.releaseDue(Infinity, c.sink);
    expect(c.out.length).toBe(id);
    for (const r of c.out) expect(r.bytes).toEqual(want.get(r.id));
    // Non-delayed packets keep their relative order.
    const plain = c.out.filter((r) => r.id % 7 !== 0).map((r) => r.id);
    expect(plain).toEqual([...plain].sort((a, b) => a - b));
    expect(q.stats().poolUsed).toBe(0);
  });

  it('batches releases through the sink (one call for many packets)', () => {
    const q = new HoldQueue({ maxBatch: 100 });
    for (let i = 0; i < 250; i++) q.push(1, i, VERDICT.ACCEPT, null);
    const c = collector();
    q.releaseDue(1, c.sink);
    expect(c.calls()).toBe(3);
    expect(c.out.length).toBe(250);
  });

  it('clear() forgets everything', () => {
    const q = new HoldQueue();
    q.push(1, 1, VERDICT.ACCEPT, pkt(1), 0, 4);
    q.clear();
    expect(q.size).toBe(0);
    const c = collector();
    expect(q.releaseDue(10, c.sink)).toBe(0);
    q.push(2, 2, VERDICT.ACCEPT, pkt(2), 0, 4);
    q.releaseDue(10, c.sink);
    expect(c.out).toEqual([{ id: 2, verdict: 1, bytes: Array.from(pkt(2)) }]);
  });
});
