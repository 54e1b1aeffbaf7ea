// The deterministic bytes the service sends and the client checks (and the client uploads):
// byte i of every body is PATTERN[i % PATTERN.length], a fixed 64 KiB of pseudo-random bytes
// (so compression or a middlebox rewriting payload would show). Shared by the service and the
// HTTP workloads' client (both bundles).

/** 64 KiB of bytes from a fixed xorshift32 sequence. */
export const PATTERN: Buffer = (() => {
  const b = Buffer.alloc(65536);
  let x = 0x9e3779b9;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
})();

/** The bytes at [offset, offset + length) of the endless pattern, as one buffer. */
export function patternBytes(offset: number, length: number): Buffer {
  // The common case (whole 64 KiB chunks from a multiple of 64 KiB) shares the pattern, never mutated.
  if (offset % PATTERN.length === 0 && length === PATTERN.length) return PATTERN;
  const out = Buffer.allocUnsafe(length);
  let o = offset % PATTERN.length;
  for (let w = 0; w < length; ) {
    const n = Math.min(length - w, PATTERN.length - o);
    PATTERN.copy(out, w, o, o + n);
    w += n;
    o = 0;
  }
  return out;
}

/** Whether `chunk` equals the pattern's bytes at `offset`. */
export function matchesPattern(chunk: Buffer, offset: number): boolean {
  let o = offset % PATTERN.length;
  for (let r = 0; r < chunk.length; ) {
    const n = Math.min(chunk.length - r, PATTERN.length - o);
    if (PATTERN.compare(chunk, r, r + n, o, o + n) !== 0) return false;
    r += n;
    o = 0;
  }
  return true;
}

/** Chunks of the pattern for a body of `length` bytes from offset 0, at most `chunk` bytes each. */
export function* patternChunks(length: number, chunk = 65536): Generator<Buffer> {
  for (let off = 0; off < length; off += chunk) yield patternBytes(off, Math.min(chunk, length - off));
}
