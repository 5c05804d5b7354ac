import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, mkdirSync, renameSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildSync } from 'esbuild';
import { tailFile } from '../../ops/stack/mod.ts';

/**
 * Run part of the system (an actor node, a gateway) in a child process, the way it runs in
 * production: its own event loop, so on a 2-core machine it can use the core the bench
 * process does not. Parent and child talk over the IPC channel with small JSON messages:
 * the child sends `{ type: 'ready', ... }` once it serves, answers `{ type: 'call', id, what }`
 * with `{ type: 'reply', id, value }`, and on `{ type: 'stop' }` stops cleanly and exits.
 */

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** The project's own Node (package.json pins it), falling back to whatever runs us. */
function nodeBinary(): string {
  const local = join(REPO_ROOT, 'node_modules', '.bin', 'node');
  return existsSync(local) ? local : process.execPath;
}

export interface ChildOptions {
  /** Label in errors. */
  name: string;
  /** Script path relative to the repo root. */
  script: string;
  /**
   * Run the script bundled into one file (see `bundled`) rather than through tsx: a node that
   * restarts after a crash then loads in a fraction of the time.
   */
  bundle?: boolean;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr of the child go here. */
  logFile: string;
  /** Write a V8 CPU profile (`--cpu-prof`) into this directory when the child exits. */
  cpuProfileDir?: string;
  /** More Node flags for the child (e.g. `--expose-gc`). */
  nodeFlags?: readonly string[];
  readyTimeoutMs?: number;
}

interface Reply {
  type: 'reply';
  id: number;
  value?: unknown;
  error?: string;
}

export class ChildNode<Ready> {
  readonly name: string;
  readonly logFile: string;
  readonly ready: Ready;
  /** Epoch ms just before the process was spawned. */
  readonly spawnedAt: number;
  readonly #proc: ChildProcess;
  readonly #exited: Promise<number | null>;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;

  private constructor(
    name: string,
    logFile: string,
    proc: ChildProcess,
    exited: Promise<number | null>,
    ready: Ready,
    spawnedAt: number,
  ) {
    this.name = name;
    this.spawnedAt = spawnedAt;
    this.logFile = logFile;
    this.#proc = proc;
    this.#exited = exited;
    this.ready = ready;
    proc.on('message', (m: unknown) => {
      const r = m as Reply;
      if (r?.type !== 'reply') return;
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      if (r.error !== undefined) p.reject(new Error(`${name}: ${r.error}`));
      else p.resolve(r.value);
    });
    void exited.then((code) => {
      for (const p of this.#pending.values())
        p.reject(new Error(`${name} exited (code ${code}); see ${logFile}`));
      this.#pending.clear();
    });
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  static async start<Ready>(opts: ChildOptions): Promise<ChildNode<Ready>> {
    const script = opts.bundle ? bundled(opts.script) : join(REPO_ROOT, opts.script);
    const out = openSync(opts.logFile, 'a');
    const execArgv = opts.bundle ? [] : ['--import', 'tsx'];
    if (opts.cpuProfileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`);
    if (opts.nodeFlags) execArgv.push(...opts.nodeFlags);
    let proc: ChildProcess;
    const spawnedAt = Date.now();
    try {
      proc = fork(script, [], {
        cwd: REPO_ROOT,
        execPath: nodeBinary(),
        execArgv,
        // V8's code cache of the bundle: a restart skips most of compiling it again.
        env: opts.bundle
          ? { NODE_COMPILE_CACHE: join(REPO_ROOT, 'dist', 'compile-cache'), ...opts.env }
          : opts.env,
        stdio: ['ignore', out, out, 'ipc'],
      });
    } finally {
      closeSync(out);
    }
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(
          new Error(
            `${opts.name} not ready after ${opts.readyTimeoutMs ?? 60_000} ms; log ${opts.logFile}:\n${tailFile(opts.logFile, 15)}`,
          ),
        );
      }, opts.readyTimeoutMs ?? 60_000);
      proc.on('message', (m: unknown) => {
        const msg = m as { type?: string; error?: string };
        if (msg?.type === 'ready') {
          clearTimeout(timer);
          resolve(m as Ready);
        } else if (msg?.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${opts.name} failed to start: ${msg.error}; log ${opts.logFile}`));
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(
          new Error(
            `${opts.name} exited with code ${code} before it was ready; log ${opts.logFile}:\n${tailFile(opts.logFile, 15)}`,
          ),
        );
      });
    });
    return new ChildNode<Ready>(opts.name, opts.logFile, proc, exited, ready, spawnedAt);
  }

  /** Ask the child something (`health`, `cpu`); it answers with whatever its handler returns. */
  call<T>(what: string, timeoutMs = 10_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: no answer to '${what}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#proc.send({ type: 'call', id, what });
    });
  }

  /** SIGKILL the child (a crash: nothing flushed, committed or acked) and wait until it is gone. */
  async kill(): Promise<void> {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
    await this.#exited;
  }

  /** Ask the child to stop cleanly; kill it if it has not exited within `graceMs`. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return this.#exited;
    if (this.#proc.connected) this.#proc.send({ type: 'stop' });
    else this.#proc.kill('SIGTERM');
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), graceMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

const bundles = new Map<string, string>();

/**
 * `script` (relative to the repo root) and everything it imports, packages included, as one
 * CommonJS file under dist/, built once per process. Loading the actor node through tsx means
 * transpiling and resolving some 850 modules: on a loaded 2-core machine that is most of a
 * restart (5–10 s); the bundle loads in under 2 s. CommonJS, because bundled CommonJS packages
 * (ioredis, pino, moleculer) read `__dirname`; the bundle sits one level below the repo root,
 * as `schemas/` does, so `import.meta.dirname` (defined as the bundle's directory) resolves
 * the same paths (`VIGIL_HOME`) it does from the sources.
 */
export function bundled(script: string): string {
  const known = bundles.get(script);
  if (known) return known;
  const outfile = join(REPO_ROOT, 'dist', `${basename(script).replace(/\.ts$/, '')}.cjs`);
  const staging = `${outfile}.${process.pid}.tmp.cjs`;
  mkdirSync(join(REPO_ROOT, 'dist'), { recursive: true });
  buildSync({
    entryPoints: [join(REPO_ROOT, script)],
    outfile: staging,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    // Less to parse; names are kept (errors and logs name classes and functions).
    minifyWhitespace: true,
    minifySyntax: true,
    define: { 'import.meta.dirname': '__dirname', 'import.meta.url': '__importMetaUrl' },
    banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'error',
  });
  // Processes starting together each build, then swap in atomically: none reads a half file.
  renameSync(staging, outfile);
  bundles.set(script, outfile);
  return outfile;
}

// ------------------------------------------------------------------ child side

/**
 * Event-loop delay of this process (`perf_hooks`), in ms: how long a ready callback — a
 * delivered message, a timer — can wait for the loop. `loopDelay()` returns the figures since
 * the previous call (the first call just starts the window).
 */
export function loopDelayMonitor(): () => LoopDelay {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return () => {
    const ms = (ns: number): number => ns / 1e6;
    const out = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    h.reset();
    return out;
  };
}

export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

export interface ChildHandlers {
  /** Answers to `call(what)`. */
  calls: Record<string, () => unknown>;
  stop(): Promise<void>;
}

/** In the child: announce readiness, serve calls, stop on request (or when the parent dies). */
export function serveParent(ready: object, handlers: ChildHandlers): void {
  const send = process.send?.bind(process);
  if (!send)
    throw new Error('this script runs as a child of bench/ingest.bench.ts (it needs an IPC channel)');
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= handlers.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('stop failed', err);
        process.exit(1);
      },
    ));
  process.on('message', (m: unknown) => {
    const msg = m as { type?: string; id?: number; what?: string };
    if (msg?.type === 'stop') {
      void stop();
    } else if (msg?.type === 'call' && typeof msg.id === 'number') {
      const handler = handlers.calls[msg.what ?? ''];
      Promise.resolve()
        .then(() => {
          if (!handler) throw new Error(`unknown call '${msg.what}'`);
          return handler();
        })
        .then(
          (value) => send({ type: 'reply', id: msg.id, value }),
          (err: unknown) =>
            send({ type: 'reply', id: msg.id, error: err instanceof Error ? err.message : String(err) }),
        );
    }
  });
  // The parent died without asking: do not linger holding partitions and connections.
  process.on('disconnect', () => void stop());
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  send({ type: 'ready', ...ready });
}

/** In the child: report a start-up failure to the parent, then exit. */
export function failToParent(err: unknown): never {
  console.error(err);
  process.send?.({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
