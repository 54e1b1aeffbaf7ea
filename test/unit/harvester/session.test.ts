// The bookkeeping the harvest and the workloads share (src/harvester/session.ts), at the edges
// the clients' own tests do not reach: which stop cause wins and the error it carries, a deadline
// cleared by close(), and kept-alive sockets of several workers numbered from one count.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ExchangeResult } from '../../../src/harvester/http.js';
import { IdleSocket, Session } from '../../../src/harvester/session.js';
import { sleep } from '../../../src/util/sleep.js';

describe('Session', () => {
  it("the first stop cause wins; the caller's reason is the abort's error (a string made one)", async () => {
    const outer = new AbortController();
    outer.abort();
    const s = new Session('workload', 20, outer.signal);
    expect(s.stopCause).toBe('aborted');
    expect(s.signal.reason).toBe(outer.signal.reason); // an Error (AbortError) passes as it is
    await sleep(40);
    expect(s.stopCause).toBe('aborted'); // the deadline passed, but the abort came first
    s.close();

    const later = new AbortController();
    const t = new Session('harvest', 0, later.signal);
    later.abort('stopped by SIGTERM');
    expect(t.stopCause).toBe('aborted');
    expect((t.signal.reason as Error).message).toBe('stopped by SIGTERM');
    t.close();
  });

  it('the deadline aborts with its own error; close() before it leaves the run unstopped', async () => {
    const s = new Session('harvest', 10);
    const closed = new Session('harvest', 10);
    closed.close();
    await sleep(40);
    expect(s.stopCause).toBe('deadline');
    expect((s.signal.reason as Error).message).toBe('harvest deadline of 10 ms reached');
    expect(closed.stopCause).toBeNull();
    expect(closed.signal.aborted).toBe(false);
    s.close();
  });
});

describe('IdleSocket', () => {
  it('reuses a live kept socket, replaces one the server ended, numbers connections across workers', async () => {
    const peers: net.Socket[] = [];
    const server = net.createServer((c) => peers.push(c));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const connect = () =>
      new Promise<net.Socket>((r) => {
        const c = net.connect(port, '127.0.0.1', () => r(c));
      });
    const kept = (socket: net.Socket) => ({ socket }) as ExchangeResult;
    try {
      const session = new Session('workload', 0);
      const a = new IdleSocket(session);
      const b = new IdleSocket(session);
      expect(a.take()).toEqual({ socket: null, connection: 1 });
      expect(b.take()).toEqual({ socket: null, connection: 2 });

      const first = await connect();
      a.keep(kept(first), 1);
      expect(a.take()).toEqual({ socket: first, connection: 1 });

      a.keep(kept(first), 1);
      const ended = new Promise((r) => first.once('end', r));
      peers[0]!.end();
      await ended;
      expect(a.take()).toEqual({ socket: null, connection: 3 });
      expect(first.destroyed).toBe(true);

      const second = await connect();
      b.keep(kept(second), 2);
      b.close();
      expect(second.destroyed).toBe(true);
      expect(b.take()).toEqual({ socket: null, connection: 4 });
      expect(session.connections).toBe(4);
      session.close();
    } finally {
      for (const p of peers) p.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
