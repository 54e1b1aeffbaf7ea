// The VM smoke job: checks, on the guest's kernel, the building blocks the lab needs and writes
// OUTDIR/smoke.json. Two namespaces joined by a veth (198.18.1.2 -> 198.18.1.1); an HTTP
// server in one; its INPUT sends port-80 TCP to NFQUEUE 0 with no bypass, so the request only
// succeeds if a user-space verdict (the lab's own addon) lets each packet through; conntrack
// must then hold the flow. Node built-ins only (plus the repository's compiled NFQUEUE wrapper).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2] ?? '/out/run';
mkdirSync(out, { recursive: true });
const r = { release: '', checks: {}, errors: [] };
const sh = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, ...opts });
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
async function check(name, fn) {
  try {
    const v = await fn();
    if (v === false) throw new Error('the check did not hold');
    r.checks[name] = v === undefined ? true : v;
    console.log(`smoke: ${name}: ok ${typeof v === 'string' ? v.split('\n')[0] : JSON.stringify(v ?? true)}`);
  } catch (e) {
    r.checks[name] = false;
    r.errors.push(
      `${name}: ${(e.stderr || e.message || String(e)).toString().trim().split('\n').slice(-3).join(' | ')}`,
    );
    console.log(`smoke: ${name}: FAILED ${r.errors[r.errors.length - 1]}`);
  }
}
const ns = (n, cmd, args) => sh('ip', ['netns', 'exec', n, cmd, ...args]);

r.release = sh('uname', ['-r']).trim();
await check('modules', () => sh('sh', ['-c', 'lsmod | tail -n +2 | cut -d" " -f1 | sort']).split('\n').filter(Boolean));
await check('conntrackStats', () => sh('conntrack', ['-S']).trim());
await check('unshare', () => sh('unshare', ['--net', '--mount', 'sh', '-c', 'ip -o link | wc -l']).trim() === '1');
await check('nsenter', async () => {
  const p = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
  try {
    await sleep(500);
    return (
      sh('nsenter', ['-t', String(p.pid), '-n', 'ip', '-o', 'link'])
        .split('\n')
        .filter(Boolean).length === 1
    );
  } finally {
    p.kill();
  }
});
let server;
let queue;
await check('topology', () => {
  sh('ip', ['netns', 'add', 'sa']);
  sh('ip', ['netns', 'add', 'sb']);
  sh('ip', ['link', 'add', 'va', 'netns', 'sa', 'type', 'veth', 'peer', 'name', 'vb', 'netns', 'sb']);
  ns('sa', 'ip', ['addr', 'add', '198.18.1.2/24', 'dev', 'va']);
  ns('sb', 'ip', ['addr', 'add', '198.18.1.1/24', 'dev', 'vb']);
  for (const [n, d] of [
    ['sa', 'va'],
    ['sb', 'vb'],
  ]) {
    ns(n, 'ip', ['link', 'set', d, 'up']);
    ns(n, 'ip', ['link', 'set', 'lo', 'up']);
  }
  ns('sa', 'ping', ['-c', '1', '-W', '5', '198.18.1.1']);
});
await check('iptables', () => {
  ns('sb', 'iptables', ['-w', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP']);
  ns('sb', 'iptables', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '80', '-j', 'NFQUEUE', '--queue-num', '0']);
  return ns('sb', 'iptables', ['-w', '-S', 'INPUT']).trim();
});
await check('httpServer', async () => {
  server = spawn(
    'ip',
    [
      'netns',
      'exec',
      'sb',
      process.execPath,
      '-e',
      "require('http').createServer((q,s)=>s.end('smoke-ok')).listen(80,'198.18.1.1',()=>console.log('listening'))",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let text = '';
  server.stdout.on('data', (d) => {
    text += d;
  });
  for (let i = 0; i < 300 && !text.includes('listening'); i++) await sleep(100);
  if (!text.includes('listening')) throw new Error('the HTTP server did not start');
});
// The queue consumer runs inside sb (NFQUEUE is per network namespace): a child node process.
const consumer = `
import { NfQueue, VERDICT, DESC } from '/opt/ctlab/dist/src/middlebox/nfqueue.js';
let n = 0;
const q = new NfQueue(0, (q, count) => { for (let i = 0; i < count; i++) q.desc[i * DESC.STRIDE + DESC.VERDICT] = VERDICT.ACCEPT; n += count; });
q.start();
process.on('SIGTERM', () => { console.log(JSON.stringify({ packets: n })); q.close(); process.exit(0); });
console.log('bound');
`;
await check('nfqueueBind', async () => {
  writeFileSync('/tmp/consumer.mjs', consumer);
  queue = spawn('ip', ['netns', 'exec', 'sb', process.execPath, '/tmp/consumer.mjs'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  queue.stdout.on('data', (d) => {
    text += d;
  });
  queue.text = () => text;
  for (let i = 0; i < 300 && !text.includes('bound'); i++) await sleep(100);
  if (!text.includes('bound')) throw new Error('the NFQUEUE consumer did not bind');
});
await check('httpThroughNfqueue', () => {
  const body = ns('sa', 'curl', ['-sS', '--max-time', '20', 'http://198.18.1.1/']);
  if (body !== 'smoke-ok') throw new Error(`unexpected body ${JSON.stringify(body)}`);
  return body;
});
await check('nfqueueStats', () => {
  const line = ns('sb', 'cat', ['/proc/net/netfilter/nfnetlink_queue']).trim();
  const f = line.split(/\s+/).map(Number);
  // queue, portid, waiting, copy mode, copy range, dropped, user dropped, last id
  if (!(f[7] > 0)) throw new Error(`no packet went through queue 0: ${line}`);
  return { queue: f[0], lastId: f[7], dropped: f[5], userDropped: f[6] };
});
await check('conntrackFlow', () => {
  const l = ns('sb', 'conntrack', ['-L', '-p', 'tcp', '--orig-dst', '198.18.1.1']);
  const n = l.split('\n').filter((x) => x.includes('dport=80')).length;
  if (n < 1) throw new Error(`no conntrack entry for the request: ${l}`);
  return n;
});
await check('nfqueuePackets', async () => {
  queue.kill('SIGTERM');
  for (let i = 0; i < 100 && !queue.text().includes('packets'); i++) await sleep(100);
  const p = JSON.parse(
    queue
      .text()
      .split('\n')
      .find((x) => x.includes('packets')) ?? '{}',
  ).packets;
  if (!(p > 0)) throw new Error('the consumer saw no packet');
  return p;
});
server?.kill();
r.ok = r.errors.length === 0;
writeFileSync(join(out, 'smoke.json'), `${JSON.stringify(r, null, 2)}\n`);
console.log(`smoke: ${r.ok ? 'all checks passed' : `${r.errors.length} check(s) failed`}`);
process.exit(r.ok ? 0 : 1);
