// lab/server/nginx.conf against resolve.ts (always), and against a real nginx on 127.0.0.1
// (when an nginx binary is installed on this host: a visible skip without one, a failure under CI).

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRepository, writeRepository, type GeneratedRepository } from '../../../src/repository/generate.js';
import {
  DEFAULT_FILE,
  FALLBACK_FILE,
  NGINX_MAP_KEY,
  OAI_ROUTES,
  nginxArg,
  resolveOaiRequest,
} from '../../../src/repository/resolve.js';
import { harvest, type AttemptEvent } from '../../../src/harvester/harvest.js';
import { parseOaiResponse } from '../../../src/harvester/oai.js';
import { describeWith, findTool, requireTool } from '../../gate.js';
import { sleep } from '../../../src/util/sleep.js';

const CONF_PATH = new URL('../../../lab/server/nginx.conf', import.meta.url);
const conf = readFileSync(CONF_PATH, 'utf8');

/** The entries of the `map ... $oai_file { }` block, as [key, value] in order. */
function mapBlock(text: string): { key: string; entries: [string, string][] } {
  const m = /map\s+"([^"]+)"\s+\$oai_file\s*\{\n([\s\S]*?)\n\s*\}\n/.exec(text);
  if (!m) throw new Error('no map block for $oai_file in nginx.conf');
  const entries: [string, string][] = [];
  for (const raw of m[2]!.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const e = /^("([^"]*)"|(\S+))\s+(\S+);$/.exec(line);
    if (!e) throw new Error(`cannot read map line: ${line}`);
    entries.push([e[2] ?? e[3]!, e[4]!]);
  }
  return { key: m[1]!, entries };
}

describe('nginx.conf and resolve.ts', () => {
  it('map the same arguments to the same files, in the same order', () => {
    const { key, entries } = mapBlock(conf);
    expect(key).toBe(NGINX_MAP_KEY);
    expect(entries[0]).toEqual(['default', DEFAULT_FILE]);
    expect(entries.slice(1)).toEqual(OAI_ROUTES.map(([re, file]) => [`~${re}`, file]));
    expect(conf).toContain(`try_files $oai_file ${FALLBACK_FILE};`);
  });

  it('has the settings the lab relies on', () => {
    expect(conf).toMatch(/^\s*listen 0\.0\.0\.0:80 default_server;/m);
    expect(conf).toMatch(/^\s*root \/srv\/oai;/m);
    expect(conf).toMatch(/^\s*sendfile on;/m);
    expect(conf).toMatch(/^\s*keepalive_timeout 15s;/m);
    expect(conf).toMatch(/^\s*access_log \/var\/log\/nginx\/access\.log oai;/m);
    expect(conf).toMatch(/default_type "text\/xml; charset=utf-8";/);
    for (const v of [
      '$connection',
      '$connection_requests',
      '$remote_port',
      '$msec',
      '$request_time',
      '$status',
      '$bytes_sent',
    ]) {
      expect(conf).toContain(v);
    }
    expect(conf).not.toMatch(/^\s*daemon\s/m); // the runner picks with -g
  });

  it('resolves queries as an OAI-PMH repository should', () => {
    const f = (q: string) => resolveOaiRequest(q).file;
    expect(f('verb=ListRecords&metadataPrefix=oai_dc')).toBe('ListRecords/oai_dc.xml');
    expect(f('metadataPrefix=oai_dc&verb=ListRecords')).toBe('ListRecords/oai_dc.xml');
    expect(f('verb=ListRecords&resumptionToken=oai_dc-abc-100')).toBe('ListRecords/tokens/oai_dc-abc-100.xml');
    expect(f('verb=ListRecords&resumptionToken=..%2F..%2Fetc%2Fpasswd')).toBe('errors/badResumptionToken.xml');
    expect(f('verb=ListRecords&resumptionToken=a&metadataPrefix=oai_dc')).toBe('errors/badArgument.xml');
    expect(f('verb=ListRecords&metadataPrefix=marcxml')).toBe('errors/cannotDisseminateFormat.xml');
    expect(f('verb=ListRecords')).toBe('errors/badArgument.xml');
    expect(f('verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01')).toBe('errors/badArgument.xml');
    expect(f('verb=ListRecords&metadataPrefix=oai_dc&set=physics')).toBe('errors/noSetHierarchy.xml');
    expect(f('verb=Identify')).toBe('Identify.xml');
    expect(f('verb=Identify&foo=1')).toBe('Identify.xml'); // unknown arguments are not in the key
    expect(f('verb=Identify&metadataPrefix=oai_dc')).toBe('errors/badArgument.xml');
    expect(f('verb=ListMetadataFormats')).toBe('ListMetadataFormats.xml');
    expect(f('verb=ListSets')).toBe('errors/noSetHierarchy.xml');
    expect(f('verb=GetRecord&identifier=x&metadataPrefix=oai_dc')).toBe('errors/badArgument.xml');
    expect(f('verb=listrecords&metadataPrefix=oai_dc')).toBe('errors/badVerb.xml'); // verbs are case-sensitive
    expect(f('')).toBe('errors/badVerb.xml');
    expect(nginxArg('VERB=Identify&verb=ListSets', 'verb')).toBe('Identify'); // first match, any case
  });
});

// ---------------------------------------------------------------------------------------------

const NGINX = findTool('nginx');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function httpGet(port: number, path: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    const parts: Buffer[] = [];
    s.on('data', (d) => parts.push(d));
    s.on('error', reject);
    s.on('end', () => {
      const all = Buffer.concat(parts);
      const i = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, i).toString('latin1');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)![1]),
        type: /content-type: ([^\r\n]*)/i.exec(head)?.[1] ?? '',
        body: all.subarray(i + 4),
      });
    });
  });
}

describeWith(
  requireTool('nginx: apt-get install -y nginx-light'),
  'the nginx.conf served by a real nginx on 127.0.0.1',
  () => {
    let dir = '';
    let port = 0;
    let repo: GeneratedRepository;
    let pidFile = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ctlab-nginx-'));
      // Workers run as www-data when the test runs as root: they must be able to read the files.
      chmodSync(dir, 0o755);
      const root = join(dir, 'oai');
      repo = generateRepository({
        records: 3812,
        pageSize: 100,
        recordBytes: 3000,
        seed: 7,
        baseUrl: 'http://198.18.2.2/oai',
      });
      writeRepository(root, repo);
      mkdirSync(join(dir, 'logs'));
      port = await freePort();
      pidFile = join(dir, 'nginx.pid');
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map((t) => `    ${t}_temp_path ${dir}/${t};\n`)
        .join('');
      const text = conf
        .replace('listen 0.0.0.0:80 default_server;', `listen 127.0.0.1:${port} default_server;`)
        .replace('pid /run/nginx.pid;', `pid ${pidFile};`)
        .replaceAll('/var/log/nginx/', `${dir}/logs/`)
        .replace('root /srv/oai;', `root ${root};`)
        .replace('http {\n', `http {\n${temp}`);
      expect(text).not.toContain('/var/log/nginx');
      writeFileSync(join(dir, 'nginx.conf'), text);
      const t = spawnSync(NGINX!, ['-t', '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs/startup.log')], {
        encoding: 'utf8',
      });
      expect(t.status, t.stderr).toBe(0);
      execFileSync(NGINX!, ['-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs/startup.log'), '-g', 'daemon on;']);
      for (let i = 0; i < 50 && !existsSync(pidFile); i++) await sleep(20);
    });

    afterAll(async () => {
      if (pidFile && existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        process.kill(pid, 'SIGQUIT');
        for (let i = 0; i < 100 && existsSync(pidFile); i++) await sleep(20);
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('answers every query with the file resolve.ts names, as text/xml', async () => {
      const files = new Map(repo.files.map((f) => [f.path, f.content]));
      const queries = [
        'verb=Identify',
        'verb=ListRecords&metadataPrefix=oai_dc',
        `verb=ListRecords&resumptionToken=${repo.manifest.pages[5]!.requestToken}`,
        'verb=ListRecords&resumptionToken=oai_dc-000000000000-100',
        'verb=ListRecords&resumptionToken=..%2F..%2F..%2Fetc%2Fpasswd',
        'verb=ListRecords&metadataPrefix=marcxml',
        'verb=ListRecords&metadataPrefix=oai_dc&set=x',
        'verb=ListRecords',
        'verb=ListSets',
        'verb=Nonsense',
        '',
      ];
      for (const q of queries) {
        const res = await httpGet(port, `/oai?${q}`);
        const r = resolveOaiRequest(q);
        const want = files.get(r.file) ?? files.get(r.fallback)!;
        expect(res.status, q).toBe(200);
        expect(res.type, q).toBe('text/xml; charset=utf-8');
        expect(res.body.equals(want), q).toBe(true);
      }
      expect((await httpGet(port, '/errors/badVerb.xml')).status).toBe(404); // internal only
      expect((await httpGet(port, '/ListRecords/oai_dc.xml')).status).toBe(404);
      const bad = await httpGet(port, '/oai?verb=ListRecords&resumptionToken=nope');
      expect(parseOaiResponse(bad.body.toString()).errors[0]!.code).toBe('badResumptionToken');
    });

    it('is harvested completely, a connection per request or one kept alive; the log joins the events', async () => {
      for (const keepAlive of [false, true]) {
        const events: AttemptEvent[] = [];
        const s = await harvest({
          baseUrl: `http://127.0.0.1:${port}/oai`,
          keepAlive,
          readTimeoutMs: 5000,
          onEvent: (e) => e.type === 'attempt' && events.push(e),
        });
        expect(s.complete).toBe(true);
        expect(s.records).toBe(3812);
        expect(s.pages).toBe(39);
        expect(s.connections).toBe(keepAlive ? 1 : 39);
        expect(s.bytes).toBeGreaterThan(repo.manifest.totalBytes);

        const log = readFileSync(join(dir, 'logs/access.log'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        const ours = log.filter((l) => events.some((e) => e.localPort === l.remote_port));
        expect(ours).toHaveLength(39);
        expect(new Set(ours.map((l) => l.connection)).size).toBe(keepAlive ? 1 : 39);
        if (keepAlive)
          expect(ours.map((l) => l.connection_requests)).toEqual(Array.from({ length: 39 }, (_, i) => i + 1));
        for (const l of ours) {
          expect(l.status).toBe(200);
          expect(typeof l.request_time).toBe('number');
          expect(typeof l.msec).toBe('number');
        }
        // What nginx sent is what the harvester counted.
        expect(ours.reduce((a, l) => a + l.bytes_sent, 0)).toBe(s.bytes);
      }
    });
  },
);
