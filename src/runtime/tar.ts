// A minimal ustar writer and reader: enough for Docker build contexts and getArchive /
// putArchive of single files. Regular files and directories only (what we send and read);
// long names go through PAX 'path' records so any repository path fits.

export interface TarEntry {
  /** Path inside the archive, '/'-separated, no leading '/'. */
  name: string;
  /** Regular file contents; omit for a directory. */
  content?: Buffer;
  mode?: number;
  /** Seconds since the epoch. Fixed (0) by default so the same files give the same bytes. */
  mtime?: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mode: number, mtime: number, type: string, prefix = ''): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.fill(' ', 148, 156); // checksum placeholder
  h.write(type, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${octal(sum, 7)} `, 148, 'ascii');
  return h;
}

function pad(len: number): Buffer {
  const rem = len % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem, 0);
}

function paxRecord(key: string, value: string): string {
  // "LEN key=value\n" where LEN counts itself
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Pack entries into an uncompressed tar archive (ends with two zero blocks). */
export function packTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const content = e.content;
    const isDir = content === undefined;
    let name = e.name.replace(/^\/+/, '');
    if (isDir && !name.endsWith('/')) name += '/';
    const mode = e.mode ?? (isDir ? 0o755 : 0o644);
    const mtime = e.mtime ?? 0;
    const size = isDir ? 0 : content.length;
    if (Buffer.byteLength(name) > 100) {
      const pax = Buffer.from(paxRecord('path', name), 'utf8');
      parts.push(header('PaxHeader', pax.length, 0o644, mtime, 'x'), pax, pad(pax.length));
      name = name.slice(0, 99);
    }
    parts.push(header(name, size, mode, mtime, isDir ? '5' : '0'));
    if (!isDir) parts.push(content, pad(size));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}

export interface TarReadEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  content: Buffer;
  linkname: string;
}

function cstr(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

function parseOctal(buf: Buffer, start: number, len: number): number {
  const s = cstr(buf, start, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** Read every entry of an uncompressed tar archive (ustar, PAX and GNU long names). */
export function unpackTar(buf: Buffer): TarReadEntry[] {
  const out: TarReadEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = parseOctal(h, 124, 12);
    const type = String.fromCharCode(h[156]!) || '0'; // h is a whole 512-byte block
    const dataStart = off + BLOCK;
    const data = buf.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      for (const rec of data.toString('utf8').split('\n')) {
        const m = /^\d+ path=(.*)$/.exec(rec);
        if (m) longName = m[1];
        const l = /^\d+ linkpath=(.*)$/.exec(rec);
        if (l) longLink = l[1];
      }
      continue;
    }
    if (type === 'L') {
      longName = cstr(data, 0, data.length);
      continue;
    }
    if (type === 'K') {
      longLink = cstr(data, 0, data.length);
      continue;
    }
    if (type === 'g') continue;
    const prefix = cstr(h, 345, 155);
    const base = cstr(h, 0, 100);
    const name = longName ?? (prefix ? `${prefix}/${base}` : base);
    const linkname = longLink ?? cstr(h, 157, 100);
    longName = undefined;
    longLink = undefined;
    out.push({
      name,
      type:
        type === '0' || type === '\0' || type === '7'
          ? 'file'
          : type === '5'
            ? 'directory'
            : type === '2'
              ? 'symlink'
              : 'other',
      mode: parseOctal(h, 100, 8),
      content: Buffer.from(data),
      linkname,
    });
  }
  return out;
}
