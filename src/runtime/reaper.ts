// Whether testcontainers' reaper (Ryuk) can run here, decided once per process before the first
// container starts. Ryuk removes a session's containers when the process that made them goes
// away; its image must be local or pullable. Where it is neither (no registry, like an offline CI
// runner), or TESTCONTAINERS_RYUK_DISABLED=true, ctlab goes on without it (it sets that variable
// for testcontainers) and says so once. ctlab's own label cleanup and signal traps run in every case.

import { getContainerRuntimeClient, ImageName } from 'testcontainers';
import { REAPER_IMAGE } from 'testcontainers/build/reaper/reaper.js';

export interface ReaperStatus {
  enabled: boolean;
  image: string;
  /** One line: why it runs or why not. */
  line: string;
}

/** How long a pull of the reaper's image may take before ctlab gives up on it. */
const PULL_TIMEOUT_MS = 60_000;

let decided: Promise<ReaperStatus> | undefined;
let said = false;

async function decide(): Promise<ReaperStatus> {
  const image = REAPER_IMAGE;
  const off = (why: string): ReaperStatus => {
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    return {
      enabled: false,
      image,
      line: `testcontainers' reaper (Ryuk, ${image}) is off: ${why}; ctlab's label cleanup and signal traps remove the lab`,
    };
  };
  if (process.env.TESTCONTAINERS_RYUK_DISABLED === 'true') return off('TESTCONTAINERS_RYUK_DISABLED=true');
  const client = await getContainerRuntimeClient();
  const name = ImageName.fromString(image);
  if (await client.image.exists(name)) {
    return { enabled: true, image, line: `testcontainers' reaper (Ryuk, ${image}) is on` };
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.image.pull(name),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${PULL_TIMEOUT_MS / 1000} s`)), PULL_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    const msg = ((err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err))
      .split('\n')[0]!
      .replace(/^\(HTTP code \d+\) [^-]*- /, '')
      .trim();
    return off(`its image is not here and cannot be pulled (${msg})`);
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (!(await client.image.exists(name))) return off('its image is not here and the pull brought none');
  return { enabled: true, image, line: `testcontainers' reaper (Ryuk, ${image}) is on (image pulled)` };
}

/**
 * Decide (once per process) whether Ryuk runs, before any container starts; `log` hears the
 * decision the first time any caller asks with one.
 */
export async function ensureReaper(log?: (line: string) => void): Promise<ReaperStatus> {
  decided ??= decide().catch((err) => {
    decided = undefined; // Docker unreachable: ask again next time
    throw err;
  });
  const s = await decided;
  if (log && !said) {
    said = true;
    log(s.line);
  }
  return s;
}
