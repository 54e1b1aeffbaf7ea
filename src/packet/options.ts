// TCP options: a zero-allocation scanner for the per-packet path, and a structured decoder /
// encoder (for tests and diagnostics) that keeps unknown and malformed bytes intact.
import { readU8, readU16, readU32, writeU16, writeU32 } from './bytes.js';

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

/** The one length a known option may have (SACK: 2 + 8n, n >= 1, checked apart). */
function knownLengthOk(kind: number, len: number): boolean {
  switch (kind) {
    case TCPOPT_MSS:
      return len === 4;
    case TCPOPT_WSCALE:
      return len === 3;
    case TCPOPT_SACK_PERM:
      return len === 2;
    case TCPOPT_TIMESTAMP:
      return len === 10;
    case TCPOPT_SACK:
      return len >= 10 && (len - 2) % 8 === 0;
    default:
      return true;
  }
}

/**
 * Walk the options in buf[start, end) and store the offset of every option other than NOP
 * (and other than EOL and what follows it) into `out`, in order. Returns how many, or -1 if the
 * option list is malformed: a length below 2, an option running past `end`, or a known option
 * with a length it cannot have. `out` needs room for 40 entries (the most 40 bytes can hold).
 */
export function scanTcpOptions(buf: Uint8Array, start: number, end: number, out: Int32Array): number {
  let n = 0;
  let o = start;
  while (o < end) {
    const kind = readU8(buf, o); // o < end <= buf.length (caller's header check)
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      o++;
      continue;
    }
    if (o + 1 >= end) return -1;
    const len = readU8(buf, o + 1); // o + 1 < end: checked just above
    if (len < 2 || o + len > end || !knownLengthOk(kind, len)) return -1;
    out[n++] = o;
    o += len;
  }
  return n;
}

export type TcpOption =
  | {
      kind: 0;
      name: 'eol';
      offset: number /** Bytes after EOL up to the end of the header (normally zeros). */;
      padding: Uint8Array;
    }
  | { kind: 1; name: 'nop'; offset: number }
  | { kind: 2; name: 'mss'; offset: number; mss: number }
  | { kind: 3; name: 'wscale'; offset: number; shift: number }
  | { kind: 4; name: 'sack-permitted'; offset: number }
  | { kind: 5; name: 'sack'; offset: number; blocks: Array<[left: number, right: number]> }
  | { kind: 8; name: 'timestamps'; offset: number; tsval: number; tsecr: number }
  /** Any other kind, kept byte for byte (data excludes kind and length). */
  | { kind: number; name: 'unknown'; offset: number; data: Uint8Array }
  /** From a malformed option to the end of the header, raw: nothing after it can be trusted. */
  | { kind: number; name: 'malformed'; offset: number; raw: Uint8Array };

/** Decode the option list in buf[start, end); offsets are relative to `start`. Never throws. */
export function decodeTcpOptions(buf: Uint8Array, start: number, end: number): TcpOption[] {
  const opts: TcpOption[] = [];
  let o = start;
  while (o < end) {
    const rel = o - start;
    const kind = readU8(buf, o); // o < end <= buf.length (caller's header check)
    if (kind === TCPOPT_EOL) {
      opts.push({ kind: 0, name: 'eol', offset: rel, padding: buf.slice(o + 1, end) });
      break;
    }
    if (kind === TCPOPT_NOP) {
      opts.push({ kind: 1, name: 'nop', offset: rel });
      o++;
      continue;
    }
    const len = o + 1 < end ? readU8(buf, o + 1) : 0;
    if (len < 2 || o + len > end || !knownLengthOk(kind, len)) {
      opts.push({ kind, name: 'malformed', offset: rel, raw: buf.slice(o, end) });
      break;
    }
    switch (kind) {
      case TCPOPT_MSS:
        opts.push({ kind: 2, name: 'mss', offset: rel, mss: readU16(buf, o + 2) });
        break;
      case TCPOPT_WSCALE:
        // knownLengthOk: wscale has length 3, so o + 2 < o + len <= end.
        opts.push({ kind: 3, name: 'wscale', offset: rel, shift: readU8(buf, o + 2) });
        break;
      case TCPOPT_SACK_PERM:
        opts.push({ kind: 4, name: 'sack-permitted', offset: rel });
        break;
      case TCPOPT_TIMESTAMP:
        opts.push({ kind: 8, name: 'timestamps', offset: rel, tsval: readU32(buf, o + 2), tsecr: readU32(buf, o + 6) });
        break;
      case TCPOPT_SACK: {
        const blocks: Array<[number, number]> = [];
        for (let b = o + 2; b < o + len; b += 8) blocks.push([readU32(buf, b), readU32(buf, b + 4)]);
        opts.push({ kind: 5, name: 'sack', offset: rel, blocks });
        break;
      }
      default:
        opts.push({ kind, name: 'unknown', offset: rel, data: buf.slice(o + 2, o + len) });
    }
    o += len;
  }
  return opts;
}

/** Encoded size of one option. */
export function tcpOptionLength(opt: TcpOption): number {
  switch (opt.name) {
    case 'eol':
      return 1 + opt.padding.length;
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sack-permitted':
      return 2;
    case 'timestamps':
      return 10;
    case 'sack':
      return 2 + 8 * opt.blocks.length;
    case 'unknown':
      return 2 + opt.data.length;
    case 'malformed':
      return opt.raw.length;
  }
}

/** Write options at `start` (each at its place in list order; `offset` is ignored). Returns bytes written. */
export function encodeTcpOptions(opts: readonly TcpOption[], buf: Uint8Array, start: number): number {
  let o = start;
  for (const opt of opts) {
    switch (opt.name) {
      case 'eol':
        buf[o] = 0;
        buf.set(opt.padding, o + 1);
        break;
      case 'nop':
        buf[o] = 1;
        break;
      case 'mss':
        buf[o] = 2;
        buf[o + 1] = 4;
        writeU16(buf, o + 2, opt.mss);
        break;
      case 'wscale':
        buf[o] = 3;
        buf[o + 1] = 3;
        buf[o + 2] = opt.shift;
        break;
      case 'sack-permitted':
        buf[o] = 4;
        buf[o + 1] = 2;
        break;
      case 'timestamps':
        buf[o] = 8;
        buf[o + 1] = 10;
        writeU32(buf, o + 2, opt.tsval);
        writeU32(buf, o + 6, opt.tsecr);
        break;
      case 'sack':
        buf[o] = 5;
        buf[o + 1] = 2 + 8 * opt.blocks.length;
        opt.blocks.forEach(([l, r], i) => {
          writeU32(buf, o + 2 + 8 * i, l);
          writeU32(buf, o + 6 + 8 * i, r);
        });
        break;
      case 'unknown':
        buf[o] = opt.kind;
        buf[o + 1] = 2 + opt.data.length;
        buf.set(opt.data, o + 2);
        break;
      case 'malformed':
        buf.set(opt.raw, o);
        break;
    }
    o += tcpOptionLength(opt);
  }
  return o - start;
}
