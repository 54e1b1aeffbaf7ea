// The user's own rulesets against the real engine and kernel: the ufw-style iptables-save file
// and the firewalld-style nft ruleset each reproduce the incident (be_liberal=0: INVALID drops,
// timeouts) and cure it (=1), and the INVALID drops counted by ctlab's bracketing nft chains
// (server.invalidCount) agree with conntrack's own NFLOG reasons (invalid-reasons.pcap) and
// `conntrack -S`. Both scenarios run at once, sharing one image build. Without Docker: fails
// when CI=true, skips (with a message) otherwise.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildImages, runtimeFor } from '../../src/cli/lab.js';
import { analyzeVariant } from '../../src/evidence/index.js';
import type { RunResult } from '../../src/result/types.js';
import { chainTargetPackets, parseIptablesCounters } from '../../src/measure/parse.js';
import { runScenario } from '../../src/run/run.js';
import { newRunId } from '../../src/runtime/labels.js';
import { checkScenarioRules, loadScenario } from '../../src/scenario/load.js';
import { describeWith } from '../gate.js';
import { dockerGate, labelledContainers } from './docker-gate.js';

const SCENARIOS = ['harvester-asa-ufw', 'harvester-asa-firewalld'] as const;
const prerequisites = await dockerGate();

describeWith(prerequisites, 'server.firewall.rules (real Docker, real kernel)', () => {
  const out = mkdtempSync(join(tmpdir(), 'ctlab-rules-'));
  const runs: Record<string, { runId: string; result: RunResult }> = {};

  beforeAll(async () => {
    const images = await buildImages({ runId: newRunId(), progress: () => {} });
    await Promise.all(
      SCENARIOS.map(async (name) => {
        const s = loadScenario(`scenarios/${name}.yaml`);
        // The rulesets load (test-loaded in a throwaway namespace when root; otherwise said why not).
        await checkScenarioRules(s);
        const runId = newRunId();
        const result = await runScenario(s, {
          outDir: join(out, name),
          runId,
          createRuntime: (id) => runtimeFor(id, images),
        });
        runs[name] = { runId, result };
      }),
    );
  }, 400_000);

  afterAll(() => {
    console.log(`[rules.test] run folders kept in ${out}`);
  });

  for (const name of SCENARIOS) {
    it(`${name}: reproduces with be_liberal=0 and cures with =1`, () => {
      const r = runs[name]!.result;
      const off = r.variants.find((v) => v.name === 'flag-off')!;
      const on = r.variants.find((v) => v.name === 'flag-on')!;
      expect(off.server.invalidCount?.method).toBe('nft-bracket');
      expect(off.server.invalidDrops).toBeGreaterThan(0);
      expect(off.attempts.timedOut).toBeGreaterThan(0);
      expect(on.harvest.complete).toBe(true);
      expect(on.attempts.timedOut).toBe(0);
      expect(on.server.invalidDrops).toBe(0);
      expect(r.passed).toBe(true);
    });

    it(`${name}: the bracket's INVALID count agrees with conntrack's NFLOG reasons and conntrack -S`, async () => {
      const r = runs[name]!.result;
      for (const v of r.variants) {
        const c = v.server.invalidCount!;
        const ev = await analyzeVariant(join(out, name, v.dir));
        const logged = ev.reasons.reduce((a, x) => a + x.judged, 0);
        // Every INVALID packet is seen once by a "before" chain, and logged once with its reason.
        expect(c.before, v.name).toBe(logged);
        expect(c.before, v.name).toBe(v.server.conntrackInvalid);
        expect(v.server.invalidDrops, v.name).toBe(c.before - c.after);
        // Both rulesets drop every INVALID packet that reaches their input chain.
        expect(c.hooks.input.after, v.name).toBe(0);
      }
      const off = r.variants.find((v) => v.name === 'flag-off')!;
      expect(off.server.invalidCount!.before).toBeGreaterThan(0);
    });

    it(`${name}: leaves nothing labelled behind`, async () => {
      expect(await labelledContainers(runs[name]!.runId)).toBe(0);
    });
  }

  it("harvester-asa-ufw: ufw's own INVALID DROP rule counted what the bracket counted", () => {
    const off = runs['harvester-asa-ufw']!.result.variants.find((v) => v.name === 'flag-off')!;
    const ipt = readFileSync(join(out, 'harvester-asa-ufw', off.dir, 'server-iptables.txt'), 'utf8');
    expect(off.server.invalidDrops).toBeGreaterThan(0);
    expect(chainTargetPackets(parseIptablesCounters(ipt), 'ufw-before-input', 'DROP')).toBe(off.server.invalidDrops);
  });
});
