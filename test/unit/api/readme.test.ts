// The README's API example is an example suite's test file, word for word, so it cannot drift
// from code that runs (examples/ is run by `npm test`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/util/repo-root.js';

describe('README', () => {
  it('every <!-- example: FILE --> block is that file', () => {
    const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```\n<!-- \/example -->/g)];
    expect(blocks.map((b) => b[1])).toEqual(['examples/asa.test.ts']);
    for (const [, file, code] of blocks) expect(code, file).toBe(readFileSync(join(repoRoot(), file!), 'utf8'));
  });
});
