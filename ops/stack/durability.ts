import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { StackError } from './errors.ts';
import { requireExecutable } from './packages.ts';

/**
 * When a JetStream PubAck may be sent. `os`: once the message is written to the operating
 * system (NATS's default: a power loss can lose what the kernel had not flushed yet). `always`:
 * once it is on disk.
 */
export type Durability = 'os' | 'always';

/** Pure: the durability asked for by VIGIL_DURABLE (unset or `os`: the default; `always`). */
export function resolveDurability(env: NodeJS.ProcessEnv): Durability {
  const raw = env['VIGIL_DURABLE']?.trim() ?? '';
  if (raw === '' || raw === 'os') return 'os';
  if (raw === 'always') return 'always';
  throw new StackError(
    'CONFIG_INVALID',
    `VIGIL_DURABLE must be "always" or "os", got ${JSON.stringify(raw)}`,
  );
}

/**
 * Makes every write under `dir` synchronous (or asynchronous again) through the filesystem's
 * synchronous-updates attribute (`chattr +S`), which new files and directories inherit.
 *
 * Why an attribute and not NATS's `sync_interval: always`: the Debian nats-server (2.9.10) has
 * no such setting and refuses a configuration that names it. Its file store writes each message
 * with `pwrite` before it sends the PubAck (checked with strace); with the attribute set, that
 * `pwrite` returns only once the data and its metadata are on disk — the same promise as
 * fsync-before-ack. The attribute is set on existing files too (`-R`), so turning the setting
 * on for an existing store covers the blocks already open. Not every filesystem supports it
 * (ext2/3/4 and XFS do; tmpfs and overlayfs do not): then `always` refuses to start rather than
 * quietly keep the weaker promise.
 */
export function setSynchronousWrites(dir: string, on: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  // The store directory's own flag says what the tree under it carries (it is set last, below):
  // `stack up` walks a large store only when the setting changes.
  const now = flagOf(dir);
  if (now === on || (now === undefined && !on)) return;
  const chattr = requireExecutable('chattr');
  const entries = fs.readdirSync(dir).map((name) => path.join(dir, name));
  try {
    // Children first, the directory last: an interrupted run leaves the flag unset and is redone.
    if (entries.length > 0)
      execFileSync(chattr, ['-R', on ? '+S' : '-S', ...entries], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync(chattr, [on ? '+S' : '-S', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    // Turning it off where it cannot be set is a no-op: nothing there was synchronous.
    if (!on) return;
    throw new StackError(
      'CONFIG_INVALID',
      `VIGIL_DURABLE=always: cannot make writes under ${dir} synchronous (chattr +S): ` +
        `${stderrOf(err)}; the filesystem must support the synchronous-updates attribute (ext4, XFS)`,
      { cause: err },
    );
  }
  if (on && !hasSynchronousWrites(dir)) {
    throw new StackError(
      'CONFIG_INVALID',
      `VIGIL_DURABLE=always: ${dir} did not keep the synchronous-updates attribute`,
    );
  }
}

/** The directory's flag, or undefined where it cannot be read (no lsattr, or tmpfs: nothing there is synchronous). */
function flagOf(dir: string): boolean | undefined {
  try {
    return hasSynchronousWrites(dir);
  } catch {
    return undefined;
  }
}

/** True when `file` (a file or a directory) carries the synchronous-updates attribute. */
export function hasSynchronousWrites(file: string): boolean {
  const lsattr = requireExecutable('lsattr');
  const out = execFileSync(lsattr, ['-d', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // `--S-----------e------- /path`: the flags are the first field.
  const flags = out.trim().split(/\s+/, 1)[0] ?? '';
  return flags.includes('S');
}

function stderrOf(err: unknown): string {
  const stderr = (err as { stderr?: Buffer | string }).stderr;
  const text = stderr === undefined ? '' : String(stderr).trim();
  return text === '' ? (err instanceof Error ? err.message : String(err)) : text;
}
