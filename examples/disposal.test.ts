// A started lab goes away when its `await using` block ends, also when the block throws (a test
// that fails): nothing labelled with its run id is left (Docker's own CLI looks).
import { execFileSync } from 'node:child_process';
import { CtlabError, startLab } from 'ctlab';
import { expect, it } from 'vitest';

const labelled = (runId: string) =>
  ['ps -aq', 'network ls -q']
    .map((cmd) =>
      execFileSync('docker', [...cmd.split(' '), '--filter', `label=ctlab.run=${runId}`], { encoding: 'utf8' }).trim(),
    )
    .filter(Boolean);

it('removes the lab when the block throws, and refuses to use it afterwards', async () => {
  let runId = '';
  let kept: Awaited<ReturnType<typeof startLab>> | undefined;
  const failingTest = async () => {
    await using lab = await startLab({ variants: [{ name: 'plain' }] });
    runId = lab.runId;
    kept = lab;
    expect(labelled(runId)).not.toEqual([]);
    const liberal = await lab.exec('server', ['cat', '/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal']);
    expect(liberal.stdout.trim()).toBe('0');
    throw new Error('the test failed');
  };
  await expect(failingTest()).rejects.toThrow('the test failed');
  expect(labelled(runId)).toEqual([]);
  const after = await kept!.exec('client', ['true']).catch((e: unknown) => e);
  expect(after).toBeInstanceOf(CtlabError);
  expect((after as CtlabError).message).toBe(`lab ${runId} was stopped`);
});
