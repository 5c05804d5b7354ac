import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError } from './errors.ts';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 300_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) {
          const detail = (stderr || stdout || err.message).trim().split('\n').slice(-15).join('\n');
          reject(
            new StackError('COMMAND_FAILED', `${[cmd, ...args].join(' ')} failed:\n${detail}`, {
              cause: err,
            }),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Starts a daemon in its own session so it outlives this process; output goes to logFile. */
export function spawnDetached(
  cmd: string,
  args: readonly string[],
  opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<number> {
  const fd = fs.openSync(opts.logFile, 'a');
  try {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    return new Promise((resolve, reject) => {
      child.once('error', (err) =>
        reject(new StackError('START_FAILED', `cannot spawn ${cmd}: ${err.message}`, { cause: err })),
      );
      child.once('spawn', () => {
        child.unref();
        if (child.pid === undefined) reject(new StackError('START_FAILED', `no pid for ${cmd}`));
        else resolve(child.pid);
      });
    });
  } finally {
    fs.closeSync(fd);
  }
}

function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * True when pid is alive and (where /proc tells us) its command line mentions `name`,
 * so a stale pid file pointing at a recycled pid is not mistaken for our daemon.
 */
export function processAlive(pid: number, name?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (name === undefined) return true;
  try {
    const status = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z /.test(status)) return false; // zombie: exited, awaiting its parent
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name);
  } catch {
    return true;
  }
}

export function runningFromPidFile(file: string, name: string): number | undefined {
  const pid = readPidFile(file);
  return pid !== undefined && processAlive(pid, name) ? pid : undefined;
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; failFast?: () => string | undefined },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let interval = opts.intervalMs ?? 100;
  for (;;) {
    if (await check().catch(() => false)) return;
    const failure = opts.failFast?.();
    if (failure !== undefined) throw new StackError('START_FAILED', `${what}: ${failure}`);
    if (Date.now() >= deadline) {
      throw new StackError('UNHEALTHY', `${what}: not ready after ${opts.timeoutMs} ms`, { retryable: true });
    }
    await sleep(interval);
    interval = Math.min(interval * 1.5, 1000);
  }
}

export async function waitExit(pid: number, name: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!processAlive(pid, name)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

/** Sends `signal` and waits for the process to go; SIGKILL after the timeout (returns false then). */
export async function terminate(
  pid: number,
  name: string,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<boolean> {
  try {
    process.kill(pid, signal);
  } catch {
    return true;
  }
  if (await waitExit(pid, name, timeoutMs)) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return true;
  }
  await waitExit(pid, name, 5000);
  return false;
}

export function portInUse(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (inUse: boolean) => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(1000, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED'));
  });
}

/** Writes only when the content differs, so watchers (ClickHouse reloads config.xml) see no churn. */
export function writeIfChanged(file: string, content: string, mode = 0o644): boolean {
  try {
    if (fs.readFileSync(file, 'utf8') === content) return false;
  } catch {
    // missing: write it
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
  return true;
}

export function tailFile(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Cross-process mutex by exclusive file creation; a lock left by a dead process is taken over. */
export async function withLock<T>(file: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readPidFile(file);
      if (holder === undefined || !processAlive(holder)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new StackError('LOCK_TIMEOUT', `stack lock ${file} held by pid ${holder}`, { retryable: true });
      }
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** Fills `@NAME@` template variables; a variable without a value is a bug in the caller. */
export function renderTemplate(templateFile: string, vars: Record<string, string | number>): string {
  return fs.readFileSync(templateFile, 'utf8').replace(/@([A-Z][A-Z0-9_]*)@/g, (_match, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new StackError('CONFIG_INVALID', `${templateFile}: no value for @${key}@`);
    return String(value);
  });
}

/** A string escaped for a double-quoted config value; the template supplies the quotes. */
export function confString(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

const CONF_DIR = new URL('../conf/', import.meta.url);

export function confTemplate(name: string): string {
  return fileURLToPath(new URL(name, CONF_DIR));
}
