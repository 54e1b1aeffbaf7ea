import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  aptConfigText,
  debFileName,
  mirrorFor,
  parseControl,
  preparePrivateApt,
  sourcesListText,
} from '../../../src/vm/apt.js';

const sources = [
  { uri: 'http://mirror.example/debian/', suites: ['bookworm', 'bookworm-updates'], components: ['main'] },
  { uri: 'http://mirror.example/debian-security', suites: ['bookworm-security'], components: ['main'] },
];

describe('private apt', () => {
  it('puts every piece of apt state under its own folder', () => {
    const t = aptConfigText('/c/apt/bookworm');
    for (const key of [
      'Dir::Etc::SourceList "/c/apt/bookworm/sources.list"',
      'Dir::Etc::SourceParts "/c/apt/bookworm/sources.list.d"',
      'Dir::State::Lists "/c/apt/bookworm/lists"',
      'Dir::State::status "/c/apt/bookworm/status"',
      'Dir::Cache "/c/apt/bookworm/cache"',
    ]) {
      expect(t).toContain(key);
    }
    // nothing points at the system's state
    expect(t).not.toMatch(/"\/var\/(lib|cache)\/apt/);
    expect(t).not.toMatch(/"\/etc\/apt/);
  });
  it('writes a signed sources line for one suite', () => {
    expect(sourcesListText('http://m/debian-security', 'bullseye-security')).toBe(
      'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://m/debian-security bullseye-security main\n',
    );
  });
  it('prepares the folder idempotently', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ctlab-apt-'));
    const a = await preparePrivateApt(root, 'http://m/debian', 'bookworm');
    const b = await preparePrivateApt(root, 'http://m/debian', 'bookworm');
    expect(b).toEqual(a);
    expect(await readFile(a.configFile, 'utf8')).toBe(aptConfigText(join(root, 'bookworm')));
    expect((await stat(join(root, 'bookworm', 'lists', 'partial'))).isDirectory()).toBe(true);
    expect(await readFile(join(root, 'bookworm', 'status'), 'utf8')).toBe('');
  });
});

describe('mirrorFor', () => {
  it("uses the host's main and security mirrors", () => {
    expect(mirrorFor('debian', sources, {})).toBe('http://mirror.example/debian');
    expect(mirrorFor('debian-security', sources, {})).toBe('http://mirror.example/debian-security');
  });
  it('derives the security archive next to the main one when none is configured', () => {
    expect(mirrorFor('debian-security', [sources[0]!], {})).toBe('http://mirror.example/debian-security');
  });
  it('honours the environment overrides', () => {
    expect(mirrorFor('debian', sources, { CTLAB_DEBIAN_MIRROR: 'http://x/debian/' })).toBe('http://x/debian');
    expect(mirrorFor('debian-security', sources, { CTLAB_DEBIAN_SECURITY_MIRROR: 'http://y/sec' })).toBe(
      'http://y/sec',
    );
    expect(mirrorFor('debian', [], {})).toBeUndefined();
  });
});

describe('control files', () => {
  it('parses the first paragraph', () => {
    const c = parseControl(
      'Package: linux-image-6.1.0-37-cloud-amd64\nVersion: 6.1.140-1\nDescription: Linux\n more text\nSHA256: abc\n\nPackage: other\nVersion: 9\n',
    );
    expect(c).toEqual({
      Package: 'linux-image-6.1.0-37-cloud-amd64',
      Version: '6.1.140-1',
      Description: 'Linux\nmore text',
      SHA256: 'abc',
    });
  });
  it('names .deb files as apt-get download does', () => {
    expect(debFileName('linux-image-6.12.95+deb12-cloud-amd64', '6.12.95-1~bpo12+1')).toBe(
      'linux-image-6.12.95+deb12-cloud-amd64_6.12.95-1~bpo12+1_amd64.deb',
    );
    expect(debFileName('p', '1:2.0')).toBe('p_1%3a2.0_amd64.deb');
  });
});
