import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractResults } from '../../../src/vm/run.js';

describe('results from the scratch disk', () => {
  it("extracts the guest's tar stream (followed by zeros, as on the disk): run/ into outDir, vm/ into outDir/vm", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-res-'));
    const g = join(dir, 'guest-out');
    await mkdir(join(g, 'run', 'flag-off'), { recursive: true });
    await mkdir(join(g, 'vm'), { recursive: true });
    await writeFile(join(g, 'run', 'result.json'), '{"passed":true}');
    await writeFile(join(g, 'run', 'flag-off', 'server.pcap'), Buffer.alloc(3000, 7));
    await writeFile(join(g, 'vm', 'dmesg.txt'), 'nf_ct_proto_6: ACK is over upper bound');
    const disk = join(dir, 'scratch.img');
    execFileSync('tar', ['-cf', disk, '-C', g, '.']);
    await appendFile(disk, Buffer.alloc(1 << 20)); // the rest of the disk
    const out = join(dir, 'out');
    await mkdir(join(out, 'vm'), { recursive: true });
    await writeFile(join(out, 'vm', 'console.log'), 'kept');
    const work = join(dir, 'work');
    await mkdir(work);
    await extractResults(disk, work, out);
    expect(await readFile(join(out, 'result.json'), 'utf8')).toBe('{"passed":true}');
    expect((await readFile(join(out, 'flag-off', 'server.pcap'))).length).toBe(3000);
    expect(await readFile(join(out, 'vm', 'dmesg.txt'), 'utf8')).toMatch(/upper bound/);
    expect(await readFile(join(out, 'vm', 'console.log'), 'utf8')).toBe('kept');
  });
  it('a damaged archive is a LAB error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-res-'));
    await writeFile(join(dir, 'disk'), Buffer.alloc(1024, 0x41));
    await expect(extractResults(join(dir, 'disk'), dir, join(dir, 'o'))).rejects.toMatchObject({ code: 'LAB' });
  });
});
