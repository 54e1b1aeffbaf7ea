import { execa } from 'execa';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packTar, unpackTar } from '../../../src/runtime/tar.js';

describe('tar', () => {
  const binary = Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 31) & 0xff));
  const longName = `dist/${'deep/'.repeat(30)}file.js`; // > 100 bytes: needs a PAX record

  it('round-trips files, modes, directories and long names', () => {
    const tar = packTar([
      { name: 'lab/server/' },
      { name: 'lab/server/firewall.sh', content: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
      { name: 'blob.bin', content: binary },
      { name: longName, content: Buffer.from('x') },
      { name: 'empty', content: Buffer.alloc(0) },
    ]);
    expect(tar.length % 512).toBe(0);
    const out = unpackTar(tar);
    expect(out.map((e) => [e.name, e.type])).toEqual([
      ['lab/server/', 'directory'],
      ['lab/server/firewall.sh', 'file'],
      ['blob.bin', 'file'],
      [longName, 'file'],
      ['empty', 'file'],
    ]);
    expect(out[1]!.mode).toBe(0o755);
    expect(out[2]!.content.equals(binary)).toBe(true);
    expect(out[4]!.content.length).toBe(0);
  });

  it('is deterministic (same files, same bytes)', () => {
    const a = packTar([{ name: 'a', content: Buffer.from('1') }]);
    const b = packTar([{ name: 'a', content: Buffer.from('1') }]);
    expect(a.equals(b)).toBe(true);
  });

  it('writes archives GNU tar reads, and reads archives GNU tar writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-tar-'));
    await writeFile(
      join(dir, 'ours.tar'),
      packTar([
        { name: longName, content: binary },
        { name: 'x/y.txt', content: Buffer.from('hi\n') },
      ]),
    );
    const list = await execa('tar', ['-tf', join(dir, 'ours.tar')]);
    expect(list.stdout.split('\n')).toEqual([longName, 'x/y.txt']);
    await execa('tar', ['-xf', join(dir, 'ours.tar'), '-C', dir]);
    expect((await readFile(join(dir, longName))).equals(binary)).toBe(true);
    await execa('tar', ['-cf', join(dir, 'theirs.tar'), '-C', dir, '--format=gnu', 'dist', 'x/y.txt']);
    const theirs = unpackTar(await readFile(join(dir, 'theirs.tar')));
    const file = theirs.find((e) => e.name === longName);
    expect(file?.content.equals(binary)).toBe(true);
    expect(theirs.find((e) => e.name === 'x/y.txt')?.content.toString()).toBe('hi\n');
  });
});
