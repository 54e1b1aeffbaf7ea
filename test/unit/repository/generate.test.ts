import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FIRST_PAGE_FILE,
  OAI_ERROR_CODES,
  TOKEN_DIR,
  TOKEN_PATTERN,
  generateRepository,
  generateRepositoryTo,
  type GeneratedRepository,
} from '../../../src/repository/generate.js';
import { escapeXml } from '../../../src/repository/xml.js';
import { runGeneratorCli } from '../../../src/repository/cli.js';
import { parseOaiResponse } from '../../../src/harvester/oai.js';
import { walkXml } from '../../../src/harvester/xml.js';

const INCIDENT = { records: 3812, pageSize: 100, recordBytes: 3000, seed: 1 };

function fileMap(repo: GeneratedRepository): Map<string, Buffer> {
  return new Map(repo.files.map((f) => [f.path, f.content]));
}

/** Follow the token chain from the first page as a harvester would, through the files only. */
function walkChain(files: Map<string, Buffer>) {
  const pages: { file: string; records: number; cursor: number | null; size: number | null; token: string | null }[] =
    [];
  let file = FIRST_PAGE_FILE;
  for (let guard = 0; guard < 100_000; guard++) {
    const buf = files.get(file);
    if (!buf) throw new Error(`chain points at a missing file ${file}`);
    const r = parseOaiResponse(buf.toString('utf8'));
    expect(r.verb).toBe('ListRecords');
    pages.push({ file, records: r.records, cursor: r.cursor, size: r.completeListSize, token: r.resumptionToken });
    if (r.resumptionToken === null) return pages;
    expect(r.resumptionToken).toMatch(TOKEN_PATTERN);
    file = `${TOKEN_DIR}/${r.resumptionToken}.xml`;
  }
  throw new Error('token chain does not end');
}

const incident = generateRepository(INCIDENT);

describe('generateRepository', () => {
  it('is deterministic: the same seed gives the same bytes, another seed different ones', () => {
    const again = generateRepository(INCIDENT);
    expect(again.files.map((f) => f.path)).toEqual(incident.files.map((f) => f.path));
    for (let i = 0; i < again.files.length; i++)
      expect(again.files[i]!.content.equals(incident.files[i]!.content)).toBe(true);

    const other = generateRepository({ ...INCIDENT, seed: 2 });
    const a = fileMap(incident).get(FIRST_PAGE_FILE)!;
    const b = fileMap(other).get(FIRST_PAGE_FILE)!;
    expect(a.equals(b)).toBe(false);
    // Tokens depend on the seed, so a token of one repository is a bad token in the other.
    expect(other.manifest.pages[1]!.requestToken).not.toBe(incident.manifest.pages[1]!.requestToken);
    expect(other.manifest.completeListSize).toBe(3812);
  });

  it('chains resumption tokens through every page to an empty token, with the right counts and cursors', () => {
    const files = fileMap(incident);
    const chain = walkChain(files);
    expect(chain).toHaveLength(39);
    expect(chain.reduce((s, p) => s + p.records, 0)).toBe(3812);
    chain.forEach((p, i) => {
      expect(p.records).toBe(i < 38 ? 100 : 12);
      expect(p.cursor).toBe(i * 100);
      expect(p.size).toBe(3812);
    });
    expect(chain[38]!.token).toBeNull();
    // Every token file is on the chain exactly once (no orphan pages).
    const tokenFiles = incident.files.filter((f) => f.path.startsWith(`${TOKEN_DIR}/`)).map((f) => f.path);
    expect(new Set(chain.slice(1).map((p) => p.file))).toEqual(new Set(tokenFiles));
    // The last page's token element is present but empty, as OAI-PMH requires.
    expect(files.get(chain[38]!.file)!.toString()).toMatch(/<resumptionToken completeListSize="3812" cursor="3800"\/>/);
  });

  it('sizes records like real metadata around the requested mean, pages a few hundred kB', () => {
    const m = incident.manifest;
    // Measure the records in the files themselves, not what the generator believes it wrote.
    const sizes: number[] = [];
    for (const p of m.pages) {
      const xml = fileMap(incident).get(p.file)!.toString('utf8');
      for (const r of xml.match(/<record>[\s\S]*?<\/record>\n/g)!) sizes.push(Buffer.byteLength(r, 'utf8'));
    }
    expect(sizes).toHaveLength(3812);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(Math.abs(mean - 3000) / 3000).toBeLessThan(0.01);
    expect(Math.abs(m.meanRecordBytes - mean)).toBeLessThan(0.1);
    expect(Math.min(...sizes)).toBe(m.minRecordBytes);
    expect(Math.max(...sizes)).toBe(m.maxRecordBytes);
    expect(m.minRecordBytes).toBeGreaterThan(1400);
    expect(m.maxRecordBytes).toBeLessThan(4700);
    expect(m.maxRecordBytes - m.minRecordBytes).toBeGreaterThan(2000); // really varied
    for (const p of m.pages.slice(0, -1)) {
      expect(p.bytes).toBeGreaterThan(270_000);
      expect(p.bytes).toBeLessThan(330_000);
    }
    expect(new Set(m.pages.map((p) => p.bytes)).size).toBeGreaterThan(30);
    // A different mean really changes the sizes.
    const small = generateRepository({ ...INCIDENT, records: 500, recordBytes: 1500 });
    expect(Math.abs(small.manifest.meanRecordBytes - 1500) / 1500).toBeLessThan(0.02);
  });

  it('writes Dublin Core records with the usual elements, and every file is well-formed XML', () => {
    const files = fileMap(incident);
    const perRecord = new Map<string, number>();
    let records = 0;
    let texts = '';
    walkXml(files.get(FIRST_PAGE_FILE)!.toString('utf8'), {
      start(name, _a, depth) {
        if (name === 'record' && depth === 2) records++;
        if (name.startsWith('dc:')) perRecord.set(name, (perRecord.get(name) ?? 0) + 1);
      },
      text(t) {
        texts += t;
      },
    });
    expect(records).toBe(100);
    for (const el of ['dc:title', 'dc:description', 'dc:date', 'dc:type', 'dc:language', 'dc:publisher'])
      expect(perRecord.get(el)).toBe(100);
    for (const el of ['dc:creator', 'dc:subject']) expect(perRecord.get(el)!).toBeGreaterThanOrEqual(100);
    expect(perRecord.get('dc:identifier')).toBe(200);
    // Escaped on the way out, decoded back on the way in; multi-byte UTF-8 survives.
    expect(texts).toContain('R&D');
    expect(texts).toContain('<draft>');
    expect(texts).toMatch(/Müller|Zürich|Dvořák/);
    for (const f of incident.files) {
      if (f.path.endsWith('.xml')) expect(() => walkXml(f.content.toString('utf8')), f.path).not.toThrow();
    }
  });

  it('writes Identify, ListMetadataFormats and one OAI error file per code', () => {
    const files = fileMap(incident);
    const id = parseOaiResponse(files.get('Identify.xml')!.toString());
    expect(id.verb).toBe('Identify');
    expect(files.get('Identify.xml')!.toString()).toContain('<baseURL>http://198.18.2.2/oai</baseURL>');
    expect(parseOaiResponse(files.get('ListMetadataFormats.xml')!.toString()).verb).toBe('ListMetadataFormats');
    for (const code of OAI_ERROR_CODES) {
      const r = parseOaiResponse(files.get(`errors/${code}.xml`)!.toString());
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.code).toBe(code);
      expect(r.errors[0]!.message.length).toBeGreaterThan(10);
    }
  });

  it('keeps a manifest whose sizes and sha256 match the files', () => {
    const files = fileMap(incident);
    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    expect(manifest).toEqual(JSON.parse(JSON.stringify(incident.manifest)));
    expect(manifest.pages).toHaveLength(39);
    for (const p of manifest.pages) {
      const buf = files.get(p.file)!;
      expect(buf.length).toBe(p.bytes);
      expect(createHash('sha256').update(buf).digest('hex')).toBe(p.sha256);
    }
    expect(manifest.totalBytes).toBe(manifest.pages.reduce((s: number, p: { bytes: number }) => s + p.bytes, 0));
  });

  it('handles the edges: exact multiples, one page, an empty list', () => {
    const exact = generateRepository({ records: 300, pageSize: 100, recordBytes: 1000, seed: 3 });
    const chain = walkChain(fileMap(exact));
    expect(chain.map((p) => p.records)).toEqual([100, 100, 100]);
    expect(chain[2]!.token).toBeNull();

    const one = generateRepository({ records: 100, pageSize: 100, recordBytes: 1000, seed: 3 });
    const r = parseOaiResponse(fileMap(one).get(FIRST_PAGE_FILE)!.toString());
    expect(r.records).toBe(100);
    expect(r.hasResumptionToken).toBe(false); // a complete list in one response carries no token

    const none = generateRepository({ records: 0, pageSize: 100, recordBytes: 1000, seed: 3 });
    const e = parseOaiResponse(fileMap(none).get(FIRST_PAGE_FILE)!.toString());
    expect(e.errors[0]!.code).toBe('noRecordsMatch');
  });

  it('rejects bad options with a scenario error and a hint', () => {
    expect(() => generateRepository({ ...INCIDENT, pageSize: 0 })).toThrow(/pageSize must be an integer/);
    expect(() => generateRepository({ ...INCIDENT, records: 1.5 })).toThrow(/records/);
    expect(() => generateRepository({ ...INCIDENT, baseUrl: 'http://x/oai?verb=Identify' })).toThrow(/without query/);
    try {
      generateRepository({ ...INCIDENT, seed: -1 });
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('SCENARIO');
      expect((err as { hint: string }).hint).toMatch(/seed/);
    }
  });
});

describe('escapeXml', () => {
  it('escapes markup characters and replaces characters XML cannot carry', () => {
    expect(escapeXml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
    expect(escapeXml('x\u0000y\u001Fz\tok\n')).toBe('x\uFFFDy\uFFFDz\tok\n');
    expect(escapeXml('lone \uD800 surrogate, pair \uD83D\uDE00')).toBe('lone \uFFFD surrogate, pair \uD83D\uDE00');
  });
});

describe('writeRepository and the CLI', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'ctlab-oai-'));
    dirs.push(d);
    return d;
  };

  it('writes the files, replacing stale pages of a previous run but not foreign files', () => {
    const dir = tmp();
    const m1 = generateRepositoryTo(dir, { records: 250, pageSize: 100, recordBytes: 1000, seed: 1 });
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const m2 = generateRepositoryTo(dir, { records: 250, pageSize: 100, recordBytes: 1000, seed: 2 });
    const tokens = readdirSync(join(dir, TOKEN_DIR)).sort();
    expect(tokens).toEqual(
      m2.pages
        .slice(1)
        .map((p) => `${p.requestToken}.xml`)
        .sort(),
    );
    expect(existsSync(join(dir, TOKEN_DIR, `${m1.pages[1]!.requestToken}.xml`))).toBe(false);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('mine');
    for (const p of m2.pages) expect(readFileSync(join(dir, p.file)).length).toBe(p.bytes);
  });

  it('runs from the command line, and rejects bad usage with exit 2 and one line', () => {
    const dir = tmp();
    let out = '';
    let err = '';
    const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (err += s) };
    const code = runGeneratorCli(
      ['--out', dir, '--records', '3812', '--page-size', '100', '--record-bytes', '3000', '--seed', '1'],
      io,
    );
    expect(code).toBe(0);
    const res = JSON.parse(out);
    expect(res).toMatchObject({ records: 3812, pages: 39 });
    console.log(`CLI: generate ${res.generateMs} ms, write ${res.writeMs} ms, ${res.totalBytes} bytes`);
    const written = readFileSync(join(dir, FIRST_PAGE_FILE));
    expect(written.equals(fileMap(incident).get(FIRST_PAGE_FILE)!)).toBe(true);

    for (const argv of [
      ['--records', '5'],
      ['--out', dir, '--page-size', 'ten'],
      ['--out', dir, '--bogus', '1'],
      ['--out', dir, '--page-size', '0'],
      ['--out'],
    ]) {
      err = '';
      expect(runGeneratorCli(argv, io), argv.join(' ')).toBe(2);
      expect(err.trim().split('\n'), argv.join(' ')).toHaveLength(1);
    }
  });
});
