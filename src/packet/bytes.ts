// Big-endian field access on a Uint8Array at any offset. Byte-wise on purpose: a DataView per
// packet would allocate, and the fields of a packet in a larger buffer need not be aligned.
//
// The readers do not check bounds: they run per field of every packet. Their contract is that
// the bytes read lie inside b (the `!` below rest on it); every caller checks the length of the
// packet or header once before reading its fields, and names that check where it reads.

/** The byte at b[o]; o < b.length (the caller's length check). */
export function readU8(b: Uint8Array, o: number): number {
  return b[o]!;
}

export function readU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Dotted quad of an address held as an unsigned 32-bit number. */
export function ipToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Unsigned 32-bit number of a dotted quad; throws on anything else. */
export function parseIp(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw new PacketError(`not an IPv4 address: ${JSON.stringify(s)}`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const n = Number(m[i]);
    if (n > 255) throw new PacketError(`not an IPv4 address: ${JSON.stringify(s)}`);
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** A packet or capture file that cannot be decoded. Callers facing a user wrap it in CtlabError. */
export class PacketError extends Error {
  override readonly name = 'PacketError';
}
