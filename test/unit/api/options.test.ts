// The library's options are checked before anything starts (execa's way): an unknown option or a
// bad value rejects with one CtlabError (code SCENARIO) naming the option. "Before anything":
// the scenario given is a file that does not exist, so loading it would fail differently.
import { describe, expect, it } from 'vitest';
import { CtlabError, runScenario, startLab, validateScenario } from '../../../src/index.js';

const MISSING = '/nonexistent/scenario.yaml';

async function rejection(p: Promise<unknown>): Promise<CtlabError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CtlabError);
  return e as CtlabError;
}

describe('runScenario and startLab options', () => {
  it.each([
    ['runScenario', { sed: 1 }, 'runScenario: options.sed: unknown option'],
    ['runScenario', { seed: -1 }, 'runScenario: options.seed: must be at least 0'],
    ['runScenario', { seed: 1.5 }, 'runScenario: options.seed: expected integer, got float'],
    ['runScenario', { parallel: 0 }, 'runScenario: options.parallel: must be at least 1'],
    ['runScenario', { variants: [] }, 'runScenario: options.variants: Array must contain at least 1 element(s)'],
    ['runScenario', { runtime: 'podman' }, 'runScenario: options.runtime: "podman" is not one of "docker", "netns"'],
    ['runScenario', { progress: 'yes' }, 'runScenario: options.progress: must be a function'],
    ['runScenario', { runId: 'Run 1' }, 'runScenario: options.runId: 1-40 characters'],
    ['runScenario', 'fast', 'runScenario: options: expected object, got string'],
    ['startLab', { variants: ['flag-off'] }, 'startLab: options.variants: unknown option'],
    ['startLab', { variant: 7 }, 'startLab: options.variant: expected string, got number'],
    ['startLab', { verbose: 'no', outDir: 'x' }, 'startLab: options.verbose: expected boolean, got string'],
  ])('%s(file, %j) rejects: %s', async (fn, options, message) => {
    const call = fn === 'runScenario' ? runScenario : startLab;
    const e = await rejection(call(MISSING, options as never));
    expect(e.code).toBe('SCENARIO');
    expect(e.message).toContain(message);
    expect(e.hint).toMatch(/^options: /);
  });

  it('every problem is named, and the hint lists the options there are', async () => {
    const e = await rejection(startLab(MISSING, { verbose: 'no', outDir: 'x' } as never));
    expect(e.message).toBe('startLab: options.verbose: expected boolean, got string; options.outDir: unknown option');
    expect(e.hint).toBe('options: runtime, seed, runId, progress, verbose, variant');
  });

  it('valid options go on to the scenario, whose problems are the next error', async () => {
    const e = await rejection(runScenario(MISSING, { seed: 3, parallel: 1, runtime: 'netns', progress: () => {} }));
    expect(e.code).toBe('SCENARIO');
    expect(e.message).toBe(`cannot read scenario ${MISSING}: no such file`);
    expect((await rejection(validateScenario(MISSING, { foo: 1 } as never))).message).toBe(
      'validateScenario: options.foo: unknown option',
    );
  });

  it('a scenario that is neither a path nor an object is bad input', async () => {
    for (const bad of [42, null, ['a']]) {
      const e = await rejection(runScenario(bad as never));
      expect(e.code).toBe('SCENARIO');
      expect(e.message).toMatch(/^the scenario must be a file path or an object of the file's shape, not /);
    }
  });
});
