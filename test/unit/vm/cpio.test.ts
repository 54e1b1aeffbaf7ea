import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpioWriter, newcHeader, readCpio, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG } from '../../../src/vm/cpio.js';
import { itWith, requireTool } from '../../gate.js';
import { sleep } from '../../../src/util/sleep.js';

describe('newc cpio', () => {
  it('writes the newc header layout the kernel expects', () => {
    const h = newcHeader({ ino: 1, mode: S_IFREG | 0o644, size: 5, name: 'a' });
    expect(h.toString('ascii', 0, 6)).toBe('070701');
    expect(h.length % 4).toBe(0);
    expect(h.toString('ascii', 6 + 6 * 8, 6 + 7 * 8)).toBe('00000005'); // c_filesize
    expect(h.toString('ascii', 6 + 11 * 8, 6 + 12 * 8)).toBe('00000002'); // c_namesize incl. NUL
    expect(h.toString('ascii', 110, 111)).toBe('a');
  });

  it('round-trips files, folders, symlinks and device nodes, padded to 4 bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-cpio-'));
    const out = join(dir, 'a.cpio');
    const w = new CpioWriter(out);
    w.dir('etc');
    w.file('etc/hostname', 'guest\n');
    w.file('init', Buffer.from('#!/bin/sh\n'), 0o755);
    w.symlink('lib', 'usr/lib');
    w.node('dev/console', S_IFCHR | 0o600, 5, 1);
    const size = w.finish();
    const buf = await readFile(out);
    expect(buf.length).toBe(size);
    expect(size % 4).toBe(0);
    const e = readCpio(buf);
    expect(e.map((x) => x.name)).toEqual(['etc', 'etc/hostname', 'init', 'lib', 'dev/console']);
    expect(e[0]!.mode).toBe(S_IFDIR | 0o755);
    expect(e[1]!.content.toString()).toBe('guest\n');
    expect(e[2]!.mode).toBe(S_IFREG | 0o755);
    expect(e[3]!.mode & 0o170000).toBe(S_IFLNK);
    expect(e[3]!.content.toString()).toBe('usr/lib');
    expect([e[4]!.rdevMajor, e[4]!.rdevMinor]).toEqual([5, 1]);
  });

  it('packs a host tree sorted, with a filter, and the bytes do not depend on when it ran', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-cpio-'));
    const root = join(dir, 'root');
    await mkdir(join(root, 'b', 'deep'), { recursive: true });
    await mkdir(join(root, 'proc', 'x'), { recursive: true });
    await writeFile(join(root, 'b', 'deep', 'f'), 'x'.repeat(4097));
    await writeFile(join(root, 'a'), 'A');
    await chmod(join(root, 'a'), 0o750);
    await symlink('b/deep/f', join(root, 'link'));
    const pack = async (name: string) => {
      const w = new CpioWriter(join(dir, name));
      w.tree(root, 'pre', (rel) => !rel.startsWith('proc/'));
      w.finish();
      return readFile(join(dir, name));
    };
    const one = await pack('1.cpio');
    await sleep(1100);
    const two = await pack('2.cpio');
    expect(one.equals(two)).toBe(true);
    const names = readCpio(one).map((x) => x.name);
    expect(names).toEqual(['pre/a', 'pre/b', 'pre/b/deep', 'pre/b/deep/f', 'pre/link', 'pre/proc']);
    expect(readCpio(one).find((x) => x.name === 'pre/a')!.mode & 0o7777).toBe(0o750);
    expect(readCpio(one).find((x) => x.name === 'pre/b/deep/f')!.content.length).toBe(4097);
  });

  it('reads concatenated archives (how the initrd is assembled)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-cpio-'));
    for (const [n, f] of [
      ['1', 'x'],
      ['2', 'y'],
    ] as const) {
      const w = new CpioWriter(join(dir, `${n}.cpio`));
      w.file(f, n);
      w.finish();
    }
    const both = Buffer.concat([await readFile(join(dir, '1.cpio')), await readFile(join(dir, '2.cpio'))]);
    expect(readCpio(both).map((e) => `${e.name}=${e.content}`)).toEqual(['x=1', 'y=2']);
  });

  itWith(requireTool('cpio: apt-get install -y cpio'), 'is read back by GNU cpio', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-cpio-'));
    const out = join(dir, 'a.cpio');
    const w = new CpioWriter(out);
    w.dir('d');
    w.file('d/f', 'hello');
    w.symlink('l', 'd/f');
    w.finish();
    const list = execFileSync('cpio', ['-it', '--quiet', '-F', out], { encoding: 'utf8' }).trim().split('\n');
    expect(list).toEqual(['d', 'd/f', 'l']);
    execFileSync('cpio', ['-id', '--quiet', '-F', out], { cwd: dir });
    expect(await readFile(join(dir, 'l'), 'utf8')).toBe('hello');
  });
});
