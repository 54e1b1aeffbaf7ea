// A streaming writer of "newc" cpio archives, the format the kernel unpacks as an initramfs.
// Several archives can be concatenated into one initrd (base system, kernel modules, job); the
// kernel unpacks them in order, later files replacing earlier ones. Entries get mtime 0 and
// uid/gid 0 so the same input gives the same bytes (and the same cache key).
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** The 110-byte newc header plus name, NUL and padding to a multiple of 4. */
export function newcHeader(o: {
  ino: number;
  mode: number;
  size: number;
  name: string;
  rdevMajor?: number;
  rdevMinor?: number;
  mtime?: number;
}): Buffer {
  const nameBuf = Buffer.from(`${o.name}\0`, 'utf8');
  const fields = [
    '070701',
    hex8(o.ino),
    hex8(o.mode),
    hex8(0),
    hex8(0),
    hex8(1),
    hex8(o.mtime ?? 0),
    hex8(o.size),
    hex8(0),
    hex8(0),
    hex8(o.rdevMajor ?? 0),
    hex8(o.rdevMinor ?? 0),
    hex8(nameBuf.length),
    hex8(0),
  ].join('');
  const headLen = 110 + nameBuf.length;
  const total = (headLen + 3) & ~3;
  const b = Buffer.alloc(total, 0);
  b.write(fields, 0, 'ascii');
  nameBuf.copy(b, 110);
  return b;
}

const ZERO = Buffer.alloc(4, 0);
const pad4 = (n: number) => (4 - (n & 3)) & 3;

/** Writes entries to a file descriptor. Names are archive paths without a leading '/'. */
export class CpioWriter {
  private ino = 1;
  private readonly fd: number;
  bytes = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  private put(b: Buffer, len = b.length): void {
    let off = 0;
    while (off < len) off += writeSync(this.fd, b, off, len - off);
    this.bytes += len;
  }

  private entry(name: string, mode: number, data: Buffer | undefined, rdev?: [number, number]): void {
    const clean = name.replace(/^\/+/, '').replace(/\/+$/, '') || '.';
    const size = data?.length ?? 0;
    this.put(newcHeader({ ino: this.ino++, mode, size, name: clean, rdevMajor: rdev?.[0], rdevMinor: rdev?.[1] }));
    if (data && size) {
      this.put(data);
      this.put(ZERO, pad4(size));
    }
  }

  dir(name: string, perm = 0o755): void {
    this.entry(name, S_IFDIR | (perm & 0o7777), undefined);
  }

  file(name: string, content: Buffer | string, perm = 0o644): void {
    this.entry(name, S_IFREG | (perm & 0o7777), typeof content === 'string' ? Buffer.from(content) : content);
  }

  symlink(name: string, target: string): void {
    this.entry(name, S_IFLNK | 0o777, Buffer.from(target));
  }

  node(name: string, mode: number, major: number, minor: number): void {
    this.entry(name, mode, undefined, [major, minor]);
  }

  /** Copy a host file in (streamed, so large binaries are not held in memory twice). */
  hostFile(name: string, hostPath: string, perm?: number): void {
    const fd = openSync(hostPath, 'r');
    try {
      const st = fstatSync(fd);
      const clean = name.replace(/^\/+/, '');
      this.put(
        newcHeader({ ino: this.ino++, mode: S_IFREG | ((perm ?? st.mode) & 0o7777), size: st.size, name: clean }),
      );
      const buf = Buffer.allocUnsafe(1 << 20);
      let left = st.size;
      while (left > 0) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
        if (n <= 0) throw new Error(`${hostPath} shrank while being archived`);
        this.put(buf, n);
        left -= n;
      }
      this.put(ZERO, pad4(st.size));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Add a host folder's tree under `prefix` (sorted, so the bytes are stable): folders, files,
   * symlinks, device nodes and fifos as they are (hard links become separate copies). `filter`
   * gets the path relative to `hostDir` and can skip it (a skipped folder skips its content).
   */
  tree(hostDir: string, prefix = '', filter?: (rel: string, isDir: boolean) => boolean): void {
    const walk = (rel: string) => {
      const names = readdirSync(join(hostDir, rel)).sort();
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        const host = join(hostDir, r);
        const st = lstatSync(host);
        const type = st.mode & S_IFMT;
        if (filter && !filter(r, type === S_IFDIR)) continue;
        const name = prefix ? `${prefix}/${r}` : r;
        if (type === S_IFDIR) {
          this.dir(name, st.mode);
          walk(r);
        } else if (type === S_IFREG) this.hostFile(name, host, st.mode);
        else if (type === S_IFLNK) this.symlink(name, readlinkSync(host));
        else if (type === S_IFCHR || type === S_IFBLK)
          this.node(name, st.mode, Math.floor(st.rdev / 256) & 0xfff, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00));
        else if (type === S_IFIFO) this.node(name, st.mode, 0, 0);
        // sockets are skipped: they mean nothing in an archive
      }
    };
    walk('');
  }

  /** Write the trailer and close. Returns the archive size in bytes. */
  finish(): number {
    this.entry('TRAILER!!!', 0, undefined);
    closeSync(this.fd);
    return this.bytes;
  }
}

export interface CpioEntry {
  name: string;
  mode: number;
  content: Buffer;
  rdevMajor: number;
  rdevMinor: number;
}

/** Read a (possibly concatenated, zero-padded) newc archive: for tests and checks. */
export function readCpio(buf: Buffer): CpioEntry[] {
  const out: CpioEntry[] = [];
  let off = 0;
  while (off + 110 <= buf.length) {
    if (buf[off] === 0) {
      off += 4;
      continue;
    } // padding between concatenated archives
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701') throw new Error(`cpio: bad magic ${JSON.stringify(magic)} at ${off}`);
    const f = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = f(1),
      size = f(6),
      namesize = f(11),
      rdevMajor = f(9),
      rdevMinor = f(10);
    const name = buf.toString('utf8', off + 110, off + 110 + namesize - 1);
    let p = off + 110 + namesize;
    p += pad4(p);
    const content = buf.subarray(p, p + size);
    p += size;
    p += pad4(p);
    off = p;
    if (name === 'TRAILER!!!') continue;
    out.push({ name, mode, content, rdevMajor, rdevMinor });
  }
  return out;
}
