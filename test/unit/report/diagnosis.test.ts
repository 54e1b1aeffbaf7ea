// The diagnosis in words (src/report/diagnosis.ts), written from the evidence of real runs: the
// headline, each flow's sentence, the drop note, nginx's mismatches and the client NAT's line.
// The facts these come from are tested in test/unit/evidence/.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeVariant } from '../../../src/evidence/index.js';
import { NSTAT_KEPT } from '../../../src/measure/nstat.js';
import {
  clientSentence,
  dropNote,
  flowSentence,
  headline,
  mismatchSentence,
  NSTAT_MEANINGS,
  windowOverflowSentence,
} from '../../../src/report/diagnosis.js';

// A real run of scenarios/harvester-asa.yaml (seed 7), trimmed (test/unit/evidence/analyze.test.ts).
const FIX = join(import.meta.dirname, '../../fixtures/evidence/run');
// Real client-side captures of scenarios/nat-reset.yaml's nat variant (see the fixture's README).
const NAT = join(import.meta.dirname, '../../fixtures/evidence/nat-reset');
const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

describe('the diagnosis of a real flag-off run', async () => {
  const e = await analyzeVariant(join(FIX, 'flag-off'));

  it('explains each failed attempt in a sentence', () => {
    const s = flowSentence(e.flows[1]!, e.attempts);
    expect(s).toMatch(/^Attempt 2 of page 0 \(client port 55030\) timed out/);
    expect(s).toContain(
      "SACK blocks with edges in the firewall's shifted sequence space (server offset +893,298,210, in the harmful half)",
    );
    expect(s).toContain(
      "the server's conntrack dropped 60 of them as 'ACK is over upper bound (ACKed data not seen yet)'",
    );
    expect(s).toContain('nginx logged the response complete (303,972 bytes');
  });

  it('puts the failures first in the headline', () => {
    expect(headline(e)[0]).toBe('3 of 3 attempts failed (3 timed out).');
  });

  it("says what nginx logged against the client's attempts", () => {
    const ms = e.nginx.mismatches.map((m) => mismatchSentence(m, e.attempts));
    expect(ms[0]).toMatch(
      /^nginx never logged attempt 1 of page 0 \(port \d+\): the response was still in flight when the client gave up after \d+\.\d s\.$/,
    );
    expect(ms[1]).toMatch(
      /^nginx logged attempt 2 of page 0 \(port 55030\) complete \(status 200, 303,972 bytes\) but the client received [\d,]+ bytes and timed out\.$/,
    );
  });

  it('words a flow no attempt claims', () => {
    const s = flowSentence({ ...e.flows[0]!, attemptIndex: null }, e.attempts);
    expect(s).toMatch(/^Flow 0 \(198\.18\.1\.2:\d+\), which no harvester attempt claims, was seen by the middlebox; /);
  });
});

describe('the diagnosis of flag-on', () => {
  it('says every attempt succeeded and nothing was dropped', async () => {
    const e = await analyzeVariant(join(FIX, 'flag-on'));
    expect(headline(e)).toEqual(['All 39 attempts succeeded.', "The server's firewall dropped no packet as INVALID."]);
    expect(dropNote(e.drops)).toBe('The firewall dropped no packet as INVALID.');
  });
});

describe('the drop note', () => {
  it('says how many drops no reason explains', async () => {
    const d = await mkdtemp(join(tmpdir(), 'ctlab-diag-'));
    tmp.push(d);
    await cp(join(FIX, 'flag-off'), d, { recursive: true });
    const ipt = await readFile(join(d, 'server-iptables.txt'), 'utf8');
    await writeFile(join(d, 'server-iptables.txt'), ipt.replace(/^\s+161\s+10936 DROP/m, '     200    13000 DROP'));
    const e = await analyzeVariant(d);
    expect(dropNote(e.drops)).toMatch(/38 are unexplained/);
  });

  it('explains why the capture may hold one more drop than the counter', async () => {
    const e = await analyzeVariant(join(FIX, 'flag-off'));
    expect(dropNote(e.drops)).toBe(
      "The firewall counted 161 drops; 162 were captured (the capture ran a moment longer than the counter was read), every one with conntrack's reason.",
    );
  });
});

describe("the client's conntrack in words", () => {
  it('a 5.10 run, where the logged packets were INVALID', async () => {
    const e = await analyzeVariant(join(NAT, 'nat-5.10'));
    const s = headline(e).join(' ');
    expect(s).toContain("The client's conntrack (its NAT) judged 86 packets INVALID");
    expect(s).toContain("43 'SEQ is under the lower bound (already ACKed data retransmitted)'");
    expect(s).toContain('the client has no INVALID drop rule');
  });

  it('a 6.18 run, where conntrack logged them but counted none INVALID', async () => {
    const e = await analyzeVariant(join(NAT, 'nat-6.18'));
    const s = headline(e).join(' ');
    expect(s).toContain("The client's conntrack (its NAT) logged 100 packets with a reason");
    expect(s).toContain('counted none INVALID');
  });

  it("names the client's INVALID rule's drops", async () => {
    const ipt = await readFile(join(NAT, 'nat-drop-invalid-5.10-client-iptables.txt'), 'utf8');
    const d = await mkdtemp(join(tmpdir(), 'ctlab-diag-'));
    tmp.push(d);
    await cp(join(NAT, 'nat-5.10'), d, { recursive: true });
    await writeFile(join(d, 'client-iptables.txt'), ipt);
    const e = await analyzeVariant(d);
    expect(headline(e).join(' ')).toContain("the client's INVALID rule dropped 203 packets");
  });

  it('leaves the client out when the run has no client capture', async () => {
    const e = await analyzeVariant(join(FIX, 'flag-off'));
    expect(clientSentence(e)).toBeUndefined();
    expect(headline(e).join(' ')).not.toContain("client's conntrack");
  });
});

describe('the window-overflow sentence', async () => {
  // The real flag-on evidence, with the reasons and counters of a window-overflow upload put in
  // (as measured on 5.10 and 6.18: see scenarios/window-overflow.yaml).
  const base = await analyzeVariant(join(FIX, 'flag-on'));
  const withCounters = (c: Record<string, [number, number]>) =>
    base.nstat.map((x) => (c[x.name] ? { ...x, server: c[x.name]![0], client: c[x.name]![1] } : x));

  it("names the INVALID verdicts, the overshoots let through, TCP's own drops and the resends", () => {
    const e = {
      ...base,
      reasons: [
        { reason: 'SEQ is over upper bound (over the window of the receiver)', judged: 461, dropped: 461 },
        { reason: 'bytes more than expected', judged: 109, dropped: 0 },
      ],
      nstat: withCounters({ TcpExtBeyondWindow: [174, 0], TcpRetransSegs: [0, 635] }),
    };
    expect(windowOverflowSentence(e)).toBe(
      "The client sent past the window the server advertised: conntrack judged 461 segments 'SEQ is over the upper bound' (461 dropped by the firewall) and let 109 smaller overshoots through ('bytes more than expected'); the server's TCP dropped 174 past its window; the client resent 635 segments. A sender overruns the window when it believes a larger one than the server's, as when a middlebox raises the window scale of the SYN-ACK; be_liberal=1 stops conntrack's INVALID verdicts, not the overrun.",
    );
    expect(headline(e)).toContain(windowOverflowSentence(e));
  });

  it("reads 5.10's wording, and TCP's drops alone (be_liberal=1 on 6.17+), and says nothing without either", () => {
    const old = {
      ...base,
      reasons: [{ reason: 'SEQ is over the upper bound (over the window of the receiver)', judged: 133, dropped: 133 }],
      nstat: withCounters({ TcpRetransSegs: [0, 299] }),
    };
    expect(windowOverflowSentence(old)).toMatch(
      /^The client sent past the window the server advertised: conntrack judged 133 segments 'SEQ is over the upper bound' \(133 dropped by the firewall\); the client resent 299 segments\./,
    );
    const liberal = {
      ...base,
      reasons: [],
      nstat: withCounters({ TcpExtBeyondWindow: [546, 0], TcpRetransSegs: [0, 546] }),
    };
    expect(windowOverflowSentence(liberal)).toMatch(
      /: the server's TCP dropped 546 past its window; the client resent 546 segments\./,
    );
    expect(windowOverflowSentence(base)).toBeUndefined();
  });
});

describe("the report's nstat table", () => {
  it('words only counters a result keeps, each once', () => {
    const names = NSTAT_MEANINGS.map(([n]) => n);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(NSTAT_KEPT).toContain(n);
  });
});
