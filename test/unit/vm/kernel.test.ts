import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bzImageRelease, resolveKernel } from '../../../src/vm/kernel.js';

/** A minimal file with an x86 boot header pointing at a version string. */
function fakeBzImage(version: string): Buffer {
  const b = Buffer.alloc(0x4000, 0);
  b.write('HdrS', 0x202, 'ascii');
  const at = 0x3000;
  b.writeUInt16LE(at - 0x200, 0x20e);
  b.write(`${version}\0`, at, 'latin1');
  return b;
}

describe('bzImageRelease', () => {
  it('reads the release from the boot header', () => {
    expect(
      bzImageRelease(
        fakeBzImage('6.1.0-37-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.140-1'),
      ),
    ).toBe('6.1.0-37-cloud-amd64');
  });
  it('rejects files without a boot header or version', () => {
    expect(bzImageRelease(Buffer.alloc(0x4000))).toBeUndefined();
    expect(bzImageRelease(fakeBzImage('not a version'))).toBeUndefined();
    expect(bzImageRelease(Buffer.from('\x7fELF'))).toBeUndefined();
  });
});

describe('resolveKernel(path:...)', () => {
  it('takes the release from the image and checks the modules folder matches', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-k-'));
    const img = join(dir, 'bzImage');
    await writeFile(img, fakeBzImage('6.6.1-lab #1 SMP'));
    const mods = join(dir, 'lib', 'modules', '6.6.1-lab');
    await mkdir(mods, { recursive: true });
    await writeFile(join(mods, 'modules.dep'), 'kernel/net/netfilter/nf_conntrack.ko:\n');
    const k = await resolveKernel(`path:${img},${mods}`);
    expect(k).toMatchObject({ release: '6.6.1-lab', image: img, modulesDir: mods });
    expect(k.key).toMatch(/^[0-9a-f]{24}$/);
    // content keyed: another modules.dep, another key
    await writeFile(join(mods, 'modules.dep'), 'kernel/net/netfilter/nf_conntrack.ko:\nkernel/drivers/net/veth.ko:\n');
    expect((await resolveKernel(`path:${img},${mods}`)).key).not.toBe(k.key);

    const other = join(dir, 'lib', 'modules', '6.6.2');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'modules.dep'), '');
    await expect(resolveKernel(`path:${img},${other}`)).rejects.toThrow(/is for 6\.6\.2, but .* is 6\.6\.1-lab/);
    await expect(resolveKernel(`path:${img},${dir}`)).rejects.toThrow(/has no modules\.dep/);
    await expect(resolveKernel(`path:${join(dir, 'missing')}`)).rejects.toThrow(/cannot be read/);
    await writeFile(join(dir, 'vmlinux'), Buffer.from(`\x7fELF${'x'.repeat(1000)}`));
    await expect(resolveKernel(`path:${join(dir, 'vmlinux')}`)).rejects.toThrow(/not an x86 bzImage/);
  });
});
