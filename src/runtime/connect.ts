// Connect to the Docker engine and turn "cannot reach it" into one clear CtlabError.

import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { CtlabError } from '../errors.js';

const SETUP_HINT =
  'run `sudo bash scripts/setup.sh` (installs docker.io and starts dockerd), or start dockerd yourself';

function socketPath(): string | undefined {
  const host = process.env.DOCKER_HOST;
  if (!host) return '/var/run/docker.sock';
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  return undefined; // tcp:// etc.: no local socket to check
}

/** Map a failed Docker request to a CtlabError('DOCKER') that says what to do. */
export function dockerError(err: unknown, what = 'Docker request failed'): CtlabError {
  if (err instanceof CtlabError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string; json?: { message?: string } };
  const sock = socketPath();
  const detail = e.json?.message ?? e.message ?? String(err);
  switch (e.code) {
    case 'ENOENT':
      return new CtlabError(
        'DOCKER',
        `Docker is unreachable: socket ${sock} does not exist (dockerd not running or not installed)`,
        { hint: SETUP_HINT, cause: err },
      );
    case 'EACCES':
    case 'EPERM':
      return new CtlabError('DOCKER', `Docker is unreachable: permission denied on ${sock}`, {
        hint: 'run ctlab as root (it needs NET_ADMIN in the lab anyway), or add your user to the docker group and log in again',
        cause: err,
      });
    case 'ECONNREFUSED':
      return new CtlabError(
        'DOCKER',
        `Docker is unreachable: connection refused on ${sock ?? process.env.DOCKER_HOST} (daemon down)`,
        { hint: SETUP_HINT, cause: err },
      );
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return new CtlabError('DOCKER', `Docker did not answer (${e.code})`, {
        hint: 'check that dockerd is healthy (`docker info`); restart it if it hangs',
        cause: err,
      });
  }
  return new CtlabError('DOCKER', `${what}: ${detail}`, { cause: err });
}

/** A dockerode client that has answered a ping, or a CtlabError('DOCKER'). */
export async function connectDocker(opts: { docker?: Docker; timeoutMs?: number } = {}): Promise<Docker> {
  const sock = socketPath();
  if (!opts.docker && sock && !existsSync(sock)) {
    throw dockerError(Object.assign(new Error('socket missing'), { code: 'ENOENT' }));
  }
  const docker = opts.docker ?? new Docker();
  const timeoutMs = opts.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('ping timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw dockerError(err, 'Docker ping failed');
  } finally {
    if (timer) clearTimeout(timer);
  }
  return docker;
}

/** True for a dockerode "404 no such container/image" error. */
export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}
