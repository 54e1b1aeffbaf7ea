// A deterministic OAI-PMH 2.0 repository written as static files, served by nginx in the lab's
// server node (lab/server/nginx.conf maps the query arguments onto these paths; resolve.ts is the
// same mapping in TypeScript for tests). This runs inside the lab (dist/bundle/repository.mjs).
//
// Layout under the output directory:
//   Identify.xml, ListMetadataFormats.xml
//   ListRecords/oai_dc.xml                 first page (verb=ListRecords&metadataPrefix=oai_dc)
//   ListRecords/tokens/<token>.xml         the page a resumptionToken asks for
//   errors/<code>.xml                      OAI error responses (badVerb, badArgument, ...)
//   manifest.json                          records, pages, bytes and sha256 per page

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CtlabError } from '../errors.js';
import { escapeXml } from './xml.js';

export const METADATA_PREFIX = 'oai_dc';
export const DEFAULT_BASE_URL = 'http://198.18.2.2/oai';
/** Fixed so that the same options give the same bytes (no clock in the output). */
export const DEFAULT_RESPONSE_DATE = '2024-05-01T12:00:00Z';
export const FIRST_PAGE_FILE = 'ListRecords/oai_dc.xml';
export const TOKEN_DIR = 'ListRecords/tokens';
/** Tokens are made of these characters only, so nginx can map them to file names safely. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const OAI_ERROR_CODES = [
  'badVerb',
  'badArgument',
  'badResumptionToken',
  'cannotDisseminateFormat',
  'noSetHierarchy',
] as const;
export type OaiErrorCode = (typeof OAI_ERROR_CODES)[number];

export interface RepositoryOptions {
  /** Records in the list (completeListSize). */
  records: number;
  /** Records per ListRecords response. */
  pageSize: number;
  /** Mean size of one <record> element in bytes (UTF-8); individual records vary 0.5x..1.5x. */
  recordBytes: number;
  /** Same seed and options give byte-identical files. */
  seed: number;
  /** The baseURL the responses name in <request> and Identify (no traffic goes there). */
  baseUrl?: string;
  /** responseDate in every response. */
  responseDate?: string;
}

export interface PageInfo {
  /** 0-based page number. */
  index: number;
  /** Path relative to the repository root. */
  file: string;
  /** The resumptionToken that requests this page (null: the first page). */
  requestToken: string | null;
  /** The token this page ends with (null: last page, whose resumptionToken element is empty). */
  resumptionToken: string | null;
  /** Index of this page's first record in the complete list (the cursor attribute of its token). */
  cursor: number;
  records: number;
  bytes: number;
  sha256: string;
}

export interface RepositoryManifest {
  generator: 'ctlab-oai-repository';
  formatVersion: 1;
  options: Required<RepositoryOptions>;
  metadataPrefix: string;
  completeListSize: number;
  pages: PageInfo[];
  /** Bytes of all ListRecords pages together. */
  totalBytes: number;
  /** Measured mean <record> size, bytes (the requested mean is options.recordBytes). */
  meanRecordBytes: number;
  minRecordBytes: number;
  maxRecordBytes: number;
  identifyFile: string;
  errorFiles: Record<OaiErrorCode, string>;
}

export interface RepositoryFile {
  /** Relative to the repository root, '/'-separated. */
  path: string;
  content: Buffer;
}

export interface GeneratedRepository {
  manifest: RepositoryManifest;
  /** Every file, manifest.json included. */
  files: RepositoryFile[];
}

const LIMITS = {
  records: [0, 10_000_000],
  pageSize: [1, 100_000],
  recordBytes: [200, 10_000_000],
  seed: [0, 0xffffffff],
} as const;

/** Throws CtlabError('SCENARIO') with a hint when an option is out of range. */
export function validateRepositoryOptions(opts: RepositoryOptions): Required<RepositoryOptions> {
  for (const key of ['records', 'pageSize', 'recordBytes', 'seed'] as const) {
    const v = opts[key];
    const [lo, hi] = LIMITS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new CtlabError(
        'SCENARIO',
        `repository option ${key} must be an integer in ${lo}..${hi}, got ${String(v)}`,
        {
          hint: `set ${key} to a whole number between ${lo} and ${hi}`,
        },
      );
    }
  }
  const baseUrl = opts.baseUrl ?? DEFAULT_BASE_URL;
  if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(baseUrl)) {
    throw new CtlabError(
      'SCENARIO',
      `repository baseUrl must be an http(s) URL without query, got ${JSON.stringify(baseUrl)}`,
      {
        hint: `use something like ${DEFAULT_BASE_URL}`,
      },
    );
  }
  const responseDate = opts.responseDate ?? DEFAULT_RESPONSE_DATE;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(responseDate)) {
    throw new CtlabError(
      'SCENARIO',
      `responseDate must be UTC YYYY-MM-DDThh:mm:ssZ, got ${JSON.stringify(responseDate)}`,
      {
        hint: `use e.g. ${DEFAULT_RESPONSE_DATE}`,
      },
    );
  }
  return {
    records: opts.records,
    pageSize: opts.pageSize,
    recordBytes: opts.recordBytes,
    seed: opts.seed,
    baseUrl,
    responseDate,
  };
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: a seeded 32-bit generator (mulberry32), good enough for test data.

class Rng {
  private s: number;
  constructor(seed: number) {
    // splitmix-style scramble so that nearby seeds start far apart.
    let z = (seed + 0x9e3779b9) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    this.s = (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!; // next() < 1: the index is in range (xs not empty)
  }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary. Some entries carry characters that must be escaped or are multi-byte in UTF-8, so
// every page exercises the escaping and a harvester's decoding.

const WORDS = (
  'analysis study survey data archive historical regional network protocol measurement ' +
  'collection evidence method theory model structure distribution observation experiment ' +
  'digital library catalogue metadata record edition manuscript correspondence letters ' +
  'population migration climate sediment river coastal urban rural economy trade market ' +
  'language dialect grammar corpus annotation translation literature poetry drama music ' +
  'medieval early modern contemporary century period reform church state law court ' +
  'genome protein cell tissue clinical trial cohort patient outcome risk factor exposure ' +
  'algorithm software system performance latency throughput congestion packet transport ' +
  'sampling inference estimate variance bias uncertainty validation replication dataset ' +
  'map survey coordinates elevation vegetation soil species habitat biodiversity ' +
  'Müller Ångström São-Paulo naïve Œuvres Zürich Kraków façade Dvořák ' +
  'R&D <draft> "preliminary" O\'Brien AT&T 5<7 x>y'
)
  .split(/\s+/)
  .filter(Boolean);

const GIVEN = [
  'Anna',
  'Björn',
  'Chloé',
  'David',
  'Eva',
  'François',
  'Greta',
  'Hiroshi',
  'Ingrid',
  'José',
  'Katarzyna',
  'Lars',
  'Maria',
  'Niamh',
  'Oskar',
  'Priya',
  'Rui',
  'Søren',
  'Tomás',
  'Ülkü',
  'Wei',
  'Yusuf',
  'Zoë',
];
const FAMILY = [
  'Andersson',
  'Brown',
  'Çelik',
  'Dubois',
  'Eriksen',
  'García',
  'Hoffmann',
  'Ivanova',
  'Jansen',
  'Kowalski',
  'Lindqvist',
  'Martín',
  'Nakamura',
  "O'Connor",
  'Papadopoulos',
  'Rossi',
  'Schröder',
  'Tanaka',
  'van der Berg',
  'Wiśniewski',
  'Yilmaz',
  'Zhang',
];
const SUBJECTS = [
  'History',
  'Linguistics',
  'Computer science',
  'Networking & distributed systems',
  'Ecology',
  'Medicine',
  'Economics',
  'Musicology',
  'Geography',
  'Law',
  'Archaeology',
  'Statistics',
  'Physics',
  'Philosophy',
  'Art history',
  'Sociology',
  'Genetics',
  'Oceanography',
];
const TYPES = ['Text', 'Dataset', 'Image', 'Sound', 'Collection', 'Software', 'InteractiveResource'];
const LANGS = ['en', 'de', 'fr', 'nl', 'sv', 'pl', 'es', 'it'];
const PUBLISHERS = [
  'Regional Archive Consortium',
  'University Library Press',
  'Institut für Digitale Geschichte',
  'Nordic Data Service',
  'Société des Archives & Manuscrits',
  'Open Science Repository',
];
const FORMATS = ['application/pdf', 'text/xml', 'image/tiff', 'audio/flac', 'text/csv', 'application/zip'];

interface Vocab {
  esc: string[];
  len: number[];
}
function vocab(xs: readonly string[]): Vocab {
  const esc = xs.map(escapeXml);
  return { esc, len: esc.map((s) => Buffer.byteLength(s, 'utf8')) };
}

const V_WORDS = vocab(WORDS);
const ESC = {
  given: GIVEN.map(escapeXml),
  family: FAMILY.map(escapeXml),
  subjects: SUBJECTS.map(escapeXml),
  types: TYPES.map(escapeXml),
  langs: LANGS,
  publishers: PUBLISHERS.map(escapeXml),
  formats: FORMATS,
};

const OAI_NS =
  'xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
  'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"';
const DC_OPEN =
  '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
  'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd">';

function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function phrase(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += (i ? ' ' : '') + V_WORDS.esc[Math.floor(rng.next() * V_WORDS.esc.length)]!;
  return s;
}

/**
 * One <record> element, aiming at `target` bytes: the descriptive fields are drawn first, then
 * dc:description is filled word by word until the record reaches the target (it overshoots by at
 * most one word; a target below the fixed part gives the fixed part alone).
 */
function makeRecord(rng: Rng, n: number, datestamp: string, target: number): { xml: string; bytes: number } {
  const id = String(n).padStart(7, '0');
  const creators = rng.int(1, 4);
  const subjects = rng.int(1, 4);
  let head =
    `<record><header><identifier>oai:ctlab.lab:record/${id}</identifier><datestamp>${datestamp}</datestamp></header>` +
    `<metadata>${DC_OPEN}<dc:title>${capitalize(phrase(rng, rng.int(4, 14)))}</dc:title>`;
  for (let i = 0; i < creators; i++) head += `<dc:creator>${rng.pick(ESC.family)}, ${rng.pick(ESC.given)}</dc:creator>`;
  for (let i = 0; i < subjects; i++) head += `<dc:subject>${rng.pick(ESC.subjects)}</dc:subject>`;
  const tail =
    `</dc:description><dc:publisher>${rng.pick(ESC.publishers)}</dc:publisher>` +
    `<dc:date>${datestamp.slice(0, 10)}</dc:date><dc:type>${rng.pick(ESC.types)}</dc:type>` +
    `<dc:format>${rng.pick(ESC.formats)}</dc:format>` +
    `<dc:identifier>urn:ctlab:record:${id}</dc:identifier><dc:identifier>https://doi.org/10.5555/ctlab.${id}</dc:identifier>` +
    `<dc:language>${rng.pick(ESC.langs)}</dc:language><dc:rights>CC BY 4.0</dc:rights></oai_dc:dc></metadata></record>\n`;
  head += '<dc:description>';
  // Fixed parts are mostly ASCII; count them exactly once, then add words by their known length.
  let size = Buffer.byteLength(head, 'utf8') + Buffer.byteLength(tail, 'utf8');
  let desc = '';
  const words = V_WORDS.esc;
  const lens = V_WORDS.len;
  while (size < target) {
    const w = Math.floor(rng.next() * words.length);
    if (desc !== '') {
      desc += ' ';
      size++;
    }
    desc += words[w]!;
    size += lens[w]!;
  }
  return { xml: head + desc + tail, bytes: size };
}

function envelope(o: Required<RepositoryOptions>, request: string, body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<OAI-PMH ${OAI_NS}>\n<responseDate>${o.responseDate}</responseDate>\n${request}\n${body}</OAI-PMH>\n`
  );
}

function requestEl(o: Required<RepositoryOptions>, attrs: Record<string, string>): string {
  let a = '';
  for (const [k, v] of Object.entries(attrs)) a += ` ${k}="${escapeXml(v)}"`;
  return `<request${a}>${escapeXml(o.baseUrl)}</request>`;
}

const ERROR_TEXT: Record<OaiErrorCode, string> = {
  badVerb: 'Illegal or missing verb. This repository serves Identify, ListMetadataFormats, ListSets and ListRecords.',
  badArgument:
    'Illegal, missing or repeated argument. ListRecords needs metadataPrefix or resumptionToken (exclusive); ' +
    'selective harvesting (from, until) and GetRecord/ListIdentifiers are not served by this static repository.',
  badResumptionToken: 'The resumptionToken is invalid or expired.',
  cannotDisseminateFormat: `The only metadata format of this repository is ${METADATA_PREFIX}.`,
  noSetHierarchy: 'This repository does not support sets.',
};

/** Token that asks for the page starting at `cursor`: opaque to harvesters, unique per options. */
function tokenFor(o: Required<RepositoryOptions>, cursor: number): string {
  const h = createHash('sha256')
    .update(`${o.seed}:${o.records}:${o.pageSize}:${o.recordBytes}:${cursor}`)
    .digest('hex')
    .slice(0, 12);
  return `${METADATA_PREFIX}-${h}-${cursor}`;
}

/** Build the whole repository in memory. Pure: same options, same bytes. */
export function generateRepository(options: RepositoryOptions): GeneratedRepository {
  const o = validateRepositoryOptions(options);
  const rng = new Rng(o.seed);
  const files: RepositoryFile[] = [];
  const pages: PageInfo[] = [];
  const pageCount = Math.max(1, Math.ceil(o.records / o.pageSize));
  // Datestamps increase through the list, from 2008 on, 1 to 72 hours apart.
  let when = Date.UTC(2008, 0, 1, 0, 0, 0) + rng.int(0, 86_400) * 1000;
  const earliest = isoSeconds(when);
  let done = 0;
  let recordBytesSum = 0;
  let overshoot = 0;
  let minRec = Infinity;
  let maxRec = 0;
  let totalBytes = 0;

  for (let p = 0; p < pageCount; p++) {
    const cursor = p * o.pageSize;
    const count = Math.min(o.pageSize, o.records - cursor);
    const requestToken = p === 0 ? null : tokenFor(o, cursor);
    const nextToken = p + 1 < pageCount ? tokenFor(o, cursor + o.pageSize) : null;
    const recs: string[] = [];
    for (let i = 0; i < count; i++) {
      // Size spread 0.5x..1.5x (triangular) around the mean, minus what earlier records
      // overshot their sizes by (up to one word each), so the mean stays on target.
      const want = o.recordBytes * (0.5 + (rng.next() + rng.next()) / 2);
      const { xml: rec, bytes: len } = makeRecord(rng, cursor + i + 1, isoSeconds(when), Math.round(want - overshoot));
      overshoot += len - want;
      recordBytesSum += len;
      if (len < minRec) minRec = len;
      if (len > maxRec) maxRec = len;
      done++;
      when += rng.int(3600, 72 * 3600) * 1000;
      recs.push(rec);
    }
    const request =
      requestToken === null
        ? requestEl(o, { verb: 'ListRecords', metadataPrefix: METADATA_PREFIX })
        : requestEl(o, { verb: 'ListRecords', resumptionToken: requestToken });
    let body: string;
    if (o.records === 0) {
      // OAI-PMH: an empty list is the noRecordsMatch error, not an empty ListRecords.
      body = `<error code="noRecordsMatch">The repository holds no records.</error>\n`;
    } else {
      const rt =
        nextToken === null
          ? `<resumptionToken completeListSize="${o.records}" cursor="${cursor}"/>`
          : `<resumptionToken completeListSize="${o.records}" cursor="${cursor}">${nextToken}</resumptionToken>`;
      // A list that fits one page needs no resumptionToken at all (OAI-PMH 2.0, 3.5).
      body = `<ListRecords>\n${recs.join('')}${pageCount === 1 ? '' : `${rt}\n`}</ListRecords>\n`;
    }
    const content = Buffer.from(envelope(o, request, body), 'utf8');
    const file = requestToken === null ? FIRST_PAGE_FILE : `${TOKEN_DIR}/${requestToken}.xml`;
    files.push({ path: file, content });
    totalBytes += content.length;
    pages.push({
      index: p,
      file,
      requestToken,
      resumptionToken: nextToken,
      cursor,
      records: count,
      bytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
    });
  }

  const identify = envelope(
    o,
    requestEl(o, { verb: 'Identify' }),
    '<Identify>\n' +
      `<repositoryName>ctlab OAI-PMH test repository (seed ${o.seed})</repositoryName>\n` +
      `<baseURL>${escapeXml(o.baseUrl)}</baseURL>\n<protocolVersion>2.0</protocolVersion>\n` +
      '<adminEmail>lab@ctlab.invalid</adminEmail>\n' +
      `<earliestDatestamp>${earliest}</earliestDatestamp>\n<deletedRecord>no</deletedRecord>\n` +
      '<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>\n</Identify>\n',
  );
  files.push({ path: 'Identify.xml', content: Buffer.from(identify, 'utf8') });
  const formats = envelope(
    o,
    requestEl(o, { verb: 'ListMetadataFormats' }),
    '<ListMetadataFormats>\n<metadataFormat><metadataPrefix>oai_dc</metadataPrefix>' +
      '<schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>' +
      '<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></metadataFormat>\n' +
      '</ListMetadataFormats>\n',
  );
  files.push({ path: 'ListMetadataFormats.xml', content: Buffer.from(formats, 'utf8') });
  const errorFiles = {} as Record<OaiErrorCode, string>;
  for (const code of OAI_ERROR_CODES) {
    const path = `errors/${code}.xml`;
    errorFiles[code] = path;
    // Static files cannot echo the request's arguments; OAI-PMH allows a bare <request> for errors.
    const xml = envelope(o, requestEl(o, {}), `<error code="${code}">${escapeXml(ERROR_TEXT[code])}</error>\n`);
    files.push({ path, content: Buffer.from(xml, 'utf8') });
  }

  const manifest: RepositoryManifest = {
    generator: 'ctlab-oai-repository',
    formatVersion: 1,
    options: o,
    metadataPrefix: METADATA_PREFIX,
    completeListSize: o.records,
    pages,
    totalBytes,
    meanRecordBytes: done ? Math.round((recordBytesSum / done) * 10) / 10 : 0,
    minRecordBytes: done ? minRec : 0,
    maxRecordBytes: maxRec,
    identifyFile: 'Identify.xml',
    errorFiles,
  };
  files.push({ path: 'manifest.json', content: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8') });
  return { manifest, files };
}

/** Subpaths this generator owns; writeRepository clears them so no stale token survives. */
const OWNED = ['ListRecords', 'errors', 'Identify.xml', 'ListMetadataFormats.xml', 'manifest.json'];

/**
 * Write a generated repository under `dir` (created if absent). Replaces what a previous run
 * wrote there (stale token files would otherwise still be served) and leaves other files alone.
 * Files are world-readable: nginx workers read them as www-data.
 */
export function writeRepository(dir: string, repo: GeneratedRepository): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const p of OWNED) rmSync(join(dir, p), { recursive: true, force: true });
    const made = new Set<string>();
    for (const f of repo.files) {
      const target = join(dir, ...f.path.split('/'));
      const d = dirname(target);
      if (!made.has(d)) {
        mkdirSync(d, { recursive: true, mode: 0o755 });
        made.add(d);
      }
      // Write then rename: nginx never serves a half-written page if it is already running.
      const tmp = `${target}.tmp`;
      writeFileSync(tmp, f.content, { mode: 0o644 });
      renameSync(tmp, target);
    }
  } catch (err) {
    throw new CtlabError('HOST', `cannot write the OAI repository to ${dir}: ${(err as Error).message}`, {
      hint: 'check that the directory is writable and the disk has space',
      cause: err,
    });
  }
}

/** Generate and write in one call; returns the manifest. */
export function generateRepositoryTo(dir: string, options: RepositoryOptions): RepositoryManifest {
  const repo = generateRepository(options);
  writeRepository(dir, repo);
  return repo.manifest;
}
