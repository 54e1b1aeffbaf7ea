import { mkdtemp, mkdir, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contentHash,
  parseContextList,
  roleContextFiles,
  skipContextFile,
  type ContextFile,
} from '../../../src/runtime/images.js';

const f = (path: string, text: string, mode = 0o644): ContextFile => ({ path, content: Buffer.from(text), mode });

describe('image content hash', () => {
  const base = {
    dockerfile: 'FROM x\n',
    files: [f('a', '1'), f('b', '2')],
    parentId: 'sha256:p',
    buildArgs: { A: '1' },
  };
  const h = contentHash(base);

  it('is 12 hex digits and independent of file order', () => {
    expect(h).toMatch(/^[0-9a-f]{12}$/);
    expect(contentHash({ ...base, files: [...base.files].reverse() })).toBe(h);
  });

  it('changes with the Dockerfile, any file byte, a mode, a path, the parent image or a build arg', () => {
    const variants = [
      contentHash({ ...base, dockerfile: 'FROM y\n' }),
      contentHash({ ...base, files: [f('a', '1'), f('b', '3')] }),
      contentHash({ ...base, files: [f('a', '1', 0o755), f('b', '2')] }),
      contentHash({ ...base, files: [f('a', '1'), f('c', '2')] }),
      contentHash({ ...base, parentId: 'sha256:q' }),
      contentHash({ ...base, buildArgs: { A: '2' } }),
      contentHash({ ...base, files: [f('a', '12'), f('b', '')] }), // no ambiguity from concatenation
    ];
    for (const v of variants) expect(v).not.toBe(h);
    expect(new Set(variants).size).toBe(variants.length);
  });
});

describe('build context', () => {
  it('parses context.list and refuses paths outside the repository', () => {
    expect(parseContextList('# c\n dist/ \n\nlab/shared/x.sh # why\n')).toEqual(['dist', 'lab/shared/x.sh']);
    expect(() => parseContextList('/etc/passwd\n')).toThrow(/inside the repository/);
    expect(() => parseContextList('lab/../../x\n')).toThrow(/inside the repository/);
  });

  it('skips source maps and declarations', () => {
    expect(skipContextFile('dist/src/a.js.map')).toBe(true);
    expect(skipContextFile('dist/src/a.d.ts')).toBe(true);
    expect(skipContextFile('dist/src/a.js')).toBe(false);
  });

  it('sends lab/<role>/ plus the context.list paths, sorted, with executable modes', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ctlab-ctx-'));
    await mkdir(join(root, 'lab/server'), { recursive: true });
    await mkdir(join(root, 'dist/src'), { recursive: true });
    await mkdir(join(root, 'src'), { recursive: true });
    await writeFile(join(root, 'lab/server/Dockerfile'), 'FROM x\n');
    await writeFile(join(root, 'lab/server/firewall.sh'), '#!/bin/sh\n');
    await chmod(join(root, 'lab/server/firewall.sh'), 0o755);
    await writeFile(join(root, 'lab/server/context.list'), 'dist/\n');
    await writeFile(join(root, 'dist/src/a.js'), 'x');
    await writeFile(join(root, 'dist/src/a.js.map'), 'x');
    await writeFile(join(root, 'src/secret.ts'), 'not sent');
    const files = await roleContextFiles(root, 'lab/server');
    expect(files.map((x) => x.path)).toEqual([
      'dist/src/a.js',
      'lab/server/Dockerfile',
      'lab/server/context.list',
      'lab/server/firewall.sh',
    ]);
    expect(files.find((x) => x.path.endsWith('firewall.sh'))!.mode).toBe(0o755);
    await writeFile(join(root, 'lab/server/context.list'), 'nope/\n');
    await expect(roleContextFiles(root, 'lab/server')).rejects.toMatchObject({ code: 'IMAGE' });
  });
});
