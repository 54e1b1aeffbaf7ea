// ctlab from a test suite: the canonical reproduction and its cure (runScenario), and a lab that
// the test drives with its own traffic (startLab). Needs root and Docker, like `ctlab run`.
import { type RunResult, runScenario, type ScenarioInput, startLab } from 'ctlab';
import { beforeAll, describe, expect, it } from 'vitest';

// scenarios/harvester-asa.yaml as an object, smaller (1,000 records, one retry) to be quick: an
// ASA-style firewall randomizes both ISNs and leaves SACK blocks untranslated, on a lossy path.
const scenario: ScenarioInput = {
  name: 'harvester-asa-small',
  seed: 7,
  path: { delayMs: 15, rateMbit: 100, loss: { rate: 0.015, direction: 'to-client' } },
  middlebox: { preset: 'asa' },
  server: { firewall: { dropInvalid: true, backend: 'nft' } },
  workload: { records: 1000, readTimeoutMs: 4000, retries: 1, maxDurationMs: 60_000 },
  variants: [
    { name: 'flag-off', sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': 0 } },
    { name: 'flag-on', sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': 1 } },
  ],
};

describe('the harvest through an ASA-style firewall (runScenario)', () => {
  let result: RunResult;
  beforeAll(async () => {
    result = await runScenario(scenario); // both variants, side by side; result.json's content
  });
  const variant = (name: string) => result.variants.find((v) => v.name === name)!;

  it('fails with the flag off: conntrack marks the SACKs INVALID and the firewall drops them', () => {
    expect(variant('flag-off').server.invalidDrops).toBeGreaterThan(0);
    expect(variant('flag-off').harvest.complete).toBe(false);
  });

  it('is cured by nf_conntrack_tcp_be_liberal=1', () => {
    expect(variant('flag-on').harvest).toMatchObject({ complete: true, records: 1000 });
    expect(variant('flag-on').server.invalidDrops).toBe(0);
  });
});

describe('your own traffic through the lab (startLab)', () => {
  // The first page of the repository (about 300 kB), three times, with curl in the client node.
  const download = async (variant: string) => {
    await using lab = await startLab(scenario, { variant }); // removed at the end of the block
    const url = `${lab.server.url}?verb=ListRecords&metadataPrefix=oai_dc`;
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await lab.exec('client', ['curl', '-sS', '-o', '/dev/null', '--max-time', '6', url], { reject: false });
      codes.push(r.exitCode ?? -1);
    }
    const counters = await lab.counters();
    const captures = await lab.captures();
    return { codes, counters, captures };
  };

  it('stalls with the flag off, and the firewall counted the INVALID drops', async () => {
    const { codes, counters, captures } = await download('flag-off');
    expect(codes.some((c) => c !== 0)).toBe(true); // curl timed out (exit 28)
    expect(counters.server.invalidDrops).toBeGreaterThan(0);
    // What the INVALID rule dropped, captured from NFLOG: a pcap with more than its 24-byte header.
    const drops = captures.find((c) => c.name === 'invalid-drops.pcap')!;
    expect(drops.bytes.length).toBeGreaterThan(24);
  });

  it('completes with the flag on, with no INVALID drop', async () => {
    const { codes, counters } = await download('flag-on');
    expect(codes).toEqual([0, 0, 0]);
    expect(counters.server.invalidDrops).toBe(0);
  });
});
