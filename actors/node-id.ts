import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../schemas/mod.ts';

/**
 * A node id that survives restarts. Partition leases name their holder: a node that comes back
 * under the id it had takes its own leases back at once, instead of waiting for them to go
 * stale (15 s) as a stranger would.
 *
 * `VIGIL_NODE_ID` wins when set (the operator keeps it unique per live process). Otherwise ids
 * are slots under `<VIGIL_HOME>/nodes/<namespace>/<id>.pid`, each holding the pid of the
 * process using it: a starting node takes a slot whose process is gone (a restart after a crash
 * or a stop), or makes a new one. Two live processes on one machine never share a slot, nor do
 * two nodes of one process.
 */

/** Slots this process holds (several nodes may share a process). */
const held = new Set<string>();

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface NodeIdentity {
  id: string;
  /**
   * Let the slot go (a stopped node); the file stays, so the next node started here takes the
   * same id. A crashed process's slot is reclaimed by its pid.
   */
  release(): void;
}

export async function stableNodeId(
  config: Pick<Config, 'VIGIL_HOME' | 'VIGIL_NS' | 'VIGIL_NODE_ID'>,
): Promise<NodeIdentity> {
  if (config.VIGIL_NODE_ID) return { id: config.VIGIL_NODE_ID, release: () => undefined };
  const dir = join(config.VIGIL_HOME, 'nodes', config.VIGIL_NS || 'default');
  await mkdir(dir, { recursive: true });
  const pid = String(process.pid);
  const claim = (id: string): NodeIdentity => {
    held.add(id);
    return { id, release: () => held.delete(id) };
  };
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.pid')).sort()) {
    const id = file.slice(0, -'.pid'.length);
    if (held.has(id)) continue;
    const path = join(dir, file);
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (alive(owner) && owner !== process.pid) continue;
    // Rename is atomic: of two processes reclaiming the same dead slot, one wins.
    const taking = `${path}.${pid}.taking`;
    try {
      await rename(path, taking);
    } catch {
      continue;
    }
    await writeFile(path, pid, { flag: 'wx' }).catch(() => undefined);
    await unlink(taking).catch(() => undefined);
    if ((await readFile(path, 'utf8').catch(() => '')).trim() === pid) return claim(id);
  }
  const id = `${hostname()}-${randomBytes(3).toString('hex')}`;
  await writeFile(join(dir, `${id}.pid`), pid, { flag: 'wx' });
  return claim(id);
}
