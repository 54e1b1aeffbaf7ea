import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hostDebianMirror,
  parseDeb822Sources,
  parseOneLineSources,
  pickDebianMirror,
} from '../../../src/runtime/apt-sources.js';

const DEB822 = `Types: deb
# a comment
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main
`;

describe('apt sources', () => {
  it('parses deb822 paragraphs, skipping deb-src', () => {
    const s = parseDeb822Sources(DEB822);
    expect(s).toEqual([
      { uri: 'http://mirror.example/debian/', suites: ['bookworm', 'bookworm-updates'], components: ['main'] },
      { uri: 'http://mirror.example/debian-security', suites: ['bookworm-security'], components: ['main'] },
    ]);
  });

  it('skips disabled paragraphs', () => {
    expect(parseDeb822Sources('Enabled: no\nTypes: deb\nURIs: http://a/debian\nSuites: bookworm\n')).toEqual([]);
  });

  it('parses one-line sources with options and comments', () => {
    const s = parseOneLineSources(
      '# x\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main contrib\ndeb-src http://x/ bookworm main\ndeb http://sec.example/ bookworm-security main # trailing\n',
    );
    expect(s).toEqual([
      { uri: 'http://one.example/debian', suites: ['bookworm'], components: ['main', 'contrib'] },
      { uri: 'http://sec.example/', suites: ['bookworm-security'], components: ['main'] },
    ]);
  });

  it('picks the main-archive mirror for the suite, not security/updates, without a trailing slash', () => {
    expect(pickDebianMirror(parseDeb822Sources(DEB822))).toBe('http://mirror.example/debian');
    expect(pickDebianMirror(parseOneLineSources('deb http://sec/ bookworm-security main\n'))).toBeUndefined();
    expect(
      pickDebianMirror(
        parseOneLineSources('deb file:/cdrom bookworm main\ndeb https://b.example/debian bookworm main\n'),
      ),
    ).toBe('https://b.example/debian');
    expect(pickDebianMirror(parseDeb822Sources(DEB822), 'trixie')).toBeUndefined();
  });

  it('reads sources.list and sources.list.d from an apt root', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ctlab-apt-'));
    await mkdir(join(root, 'sources.list.d'));
    await writeFile(join(root, 'sources.list.d', 'debian.sources'), DEB822);
    await writeFile(join(root, 'sources.list.d', 'other.list.disabled'), 'deb http://nope/ bookworm main\n');
    expect(await hostDebianMirror('bookworm', root)).toBe('http://mirror.example/debian');
    await writeFile(join(root, 'sources.list'), 'deb http://first.example/debian bookworm main\n');
    expect(await hostDebianMirror('bookworm', root)).toBe('http://first.example/debian');
    expect(await hostDebianMirror('bookworm', join(root, 'missing'))).toBeUndefined();
  });
});
