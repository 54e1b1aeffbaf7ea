// The flow table: struct-of-arrays in typed arrays (no object per flow, no string keys), with an
// open-addressing index keyed by the 4-tuple. Both directions of a flow hash to the same slot
// (the hash is symmetric), so one probe sequence finds a packet's flow and its direction.

export const C2S = 0;
export const S2C = 1;

/** Per-flow flag bits. */
export const F_FIN_CLIENT = 1;
export const F_FIN_SERVER = 2;
export const F_RST_CLIENT = 4;
export const F_RST_SERVER = 8;
export const F_SERVER_ISN = 16;
export const F_MAXEND_C2S = 32;
export const F_MAXEND_S2C = 64;

function symmetricHash(a1: number, p1: number, a2: number, p2: number): number {
  // Order-independent combination of the two endpoints, then a murmur finalizer.
  let h = (Math.imul(a1 ^ (p1 << 16) ^ p1, 0x9e3779b1) + Math.imul(a2 ^ (p2 << 16) ^ p2, 0x9e3779b1)) | 0;
  h ^= (a1 ^ a2) + (p1 ^ p2) * 0x10001;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Bounds (the `!` on reads below and in engine.ts / mutations/): a flow index f comes from
// lookup() or create(), so f < count <= capacity; per-flow arrays hold capacity entries and
// per-direction arrays 2 * capacity, so [f] and [2 * f + dir] are inside them. Slot indices are
// masked with `mask` = slots.length - 1 (a power of two), so slots[i] is inside too.
export class FlowTable {
  /** Number of flows ever created; a flow's ordinal is its index. */
  count = 0;
  capacity: number;
  readonly maxFlows: number;

  // Per flow.
  caddr: Uint32Array;
  saddr: Uint32Array;
  /** cport << 16 | sport. */
  ports: Uint32Array;
  flags: Uint8Array;
  firstSeen: Float64Array;
  lastSeen: Float64Array;
  sackTranslated: Float64Array;
  sackUntranslated: Float64Array;
  synRetrans: Uint32Array;
  reordered: Float64Array;
  // Per flow and direction, at index 2 * flow + dir.
  /** The real ISN of the direction's sender (client's from its SYN, server's from its SYN-ACK). */
  isn: Uint32Array;
  /** Added to the direction's sequence numbers (and subtracted from the other's ACKs). */
  offset: Uint32Array;
  /** Highest sequence number + length seen carrying data (real space): first-transmission test. */
  maxEnd: Uint32Array;
  packets: Float64Array;
  bytes: Float64Array;
  dataSegs: Float64Array;
  drops: Float64Array;
  /** Pure ACKs (ACK flag, no payload, no SYN/FIN/RST): the count the late-ACK rule keys on. */
  pureAcks: Float64Array;
  /** Packets held back as late packets (path.late). */
  late: Float64Array;

  /** Hash index: flow index or -1. Length a power of two, kept at most half full. */
  private slots: Int32Array;
  private mask: number;

  constructor(initialCapacity = 1024, maxFlows = 1 << 20) {
    this.maxFlows = maxFlows;
    this.capacity = Math.max(16, initialCapacity);
    const c = this.capacity;
    this.caddr = new Uint32Array(c);
    this.saddr = new Uint32Array(c);
    this.ports = new Uint32Array(c);
    this.flags = new Uint8Array(c);
    this.firstSeen = new Float64Array(c);
    this.lastSeen = new Float64Array(c);
    this.sackTranslated = new Float64Array(c);
    this.sackUntranslated = new Float64Array(c);
    this.synRetrans = new Uint32Array(c);
    this.reordered = new Float64Array(c);
    this.isn = new Uint32Array(2 * c);
    this.offset = new Uint32Array(2 * c);
    this.maxEnd = new Uint32Array(2 * c);
    this.packets = new Float64Array(2 * c);
    this.bytes = new Float64Array(2 * c);
    this.dataSegs = new Float64Array(2 * c);
    this.drops = new Float64Array(2 * c);
    this.pureAcks = new Float64Array(2 * c);
    this.late = new Float64Array(2 * c);
    let s = 16;
    while (s < 2 * c) s <<= 1;
    this.slots = new Int32Array(s).fill(-1);
    this.mask = s - 1;
  }

  /**
   * The flow of a packet from (src, sport) to (dst, dport): (index << 1) | direction, where
   * direction is C2S if src is the flow's client; or -1 if there is none.
   */
  lookup(src: number, dst: number, sport: number, dport: number): number {
    let i = symmetricHash(src, sport, dst, dport) & this.mask;
    const fwd = ((sport << 16) | dport) >>> 0;
    const rev = ((dport << 16) | sport) >>> 0;
    for (;;) {
      const f = this.slots[i]!; // i masked: in bounds
      if (f < 0) return -1;
      const p = this.ports[f]!; // f >= 0 in a slot: a created flow, f < count
      if (p === fwd && this.caddr[f] === src && this.saddr[f] === dst) return f << 1;
      if (p === rev && this.caddr[f] === dst && this.saddr[f] === src) return (f << 1) | 1;
      i = (i + 1) & this.mask;
    }
  }

  /**
   * Create a flow whose client is (caddr, cport), replacing in the index any flow on the same
   * 4-tuple (its record stays). Returns the new flow's index, or -1 when maxFlows is reached.
   */
  create(caddr: number, saddr: number, cport: number, sport: number, nowMs: number): number {
    if (this.count >= this.maxFlows) return -1;
    if (this.count === this.capacity) this.grow();
    const f = this.count++;
    this.caddr[f] = caddr;
    this.saddr[f] = saddr;
    this.ports[f] = ((cport << 16) | sport) >>> 0;
    this.firstSeen[f] = nowMs;
    this.lastSeen[f] = nowMs;
    // Point the index at the new flow: reuse the slot of an older flow on this 4-tuple, if any.
    let i = symmetricHash(caddr, cport, saddr, sport) & this.mask;
    const fwd = ((cport << 16) | sport) >>> 0;
    const rev = ((sport << 16) | cport) >>> 0;
    for (;;) {
      const g = this.slots[i]!; // i masked: in bounds
      if (g < 0) {
        this.slots[i] = f;
        break;
      }
      const p = this.ports[g]!; // g >= 0 in a slot: a created flow, g < count
      if (
        (p === fwd && this.caddr[g] === caddr && this.saddr[g] === saddr) ||
        (p === rev && this.caddr[g] === saddr && this.saddr[g] === caddr)
      ) {
        this.slots[i] = f;
        return f;
      }
      i = (i + 1) & this.mask;
    }
    // Occupied slots only grow (a replaced flow reuses its slot), so this bounds the load factor.
    if (2 * ++this.usedSlots > this.slots.length) this.rehash(this.slots.length * 2);
    return f;
  }

  private usedSlots = 0;

  private grow(): void {
    const c = this.capacity * 2;
    const g32 = (a: Uint32Array, n: number) => {
      const b = new Uint32Array(n);
      b.set(a);
      return b;
    };
    const g64 = (a: Float64Array, n: number) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.caddr = g32(this.caddr, c);
    this.saddr = g32(this.saddr, c);
    this.ports = g32(this.ports, c);
    const fl = new Uint8Array(c);
    fl.set(this.flags);
    this.flags = fl;
    this.firstSeen = g64(this.firstSeen, c);
    this.lastSeen = g64(this.lastSeen, c);
    this.sackTranslated = g64(this.sackTranslated, c);
    this.sackUntranslated = g64(this.sackUntranslated, c);
    this.synRetrans = g32(this.synRetrans, c);
    this.reordered = g64(this.reordered, c);
    this.isn = g32(this.isn, 2 * c);
    this.offset = g32(this.offset, 2 * c);
    this.maxEnd = g32(this.maxEnd, 2 * c);
    this.packets = g64(this.packets, 2 * c);
    this.bytes = g64(this.bytes, 2 * c);
    this.dataSegs = g64(this.dataSegs, 2 * c);
    this.drops = g64(this.drops, 2 * c);
    this.pureAcks = g64(this.pureAcks, 2 * c);
    this.late = g64(this.late, 2 * c);
    this.capacity = c;
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    for (const f of old) {
      if (f < 0) continue;
      // f >= 0 in a slot: a created flow, f < count; i masked: in bounds.
      const p = this.ports[f]!;
      let i = symmetricHash(this.caddr[f]!, p >>> 16, this.saddr[f]!, p & 0xffff) & this.mask;
      while (this.slots[i]! >= 0) i = (i + 1) & this.mask;
      this.slots[i] = f;
    }
  }
}
