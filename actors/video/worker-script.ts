import { mkdirSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const built = new Map<string, string>();

/**
 * A TypeScript worker-thread entry as one plain ES module. Worker threads do not inherit the tsx
 * loader, so the worker (and the code it shares with the rest of the pipeline) is bundled once
 * per process into node_modules/.cache, next to the packages it imports at run time
 * (onnxruntime-node stays external: it is native).
 */
export function bundleWorker(entry: string): string {
  const done = built.get(entry);
  if (done) return done;
  const outfile = join(root, 'node_modules', '.cache', 'vigil', basename(entry).replace(/\.ts$/, '.mjs'));
  const staging = `${outfile}.${process.pid}.tmp.mjs`;
  mkdirSync(dirname(outfile), { recursive: true });
  buildSync({
    entryPoints: [entry],
    outfile: staging,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: ['onnxruntime-node'],
    logLevel: 'error',
  });
  // Processes starting together each build, then swap in atomically: none reads a half file.
  renameSync(staging, outfile);
  built.set(entry, outfile);
  return outfile;
}

/** The detector pool's worker (detect.worker.ts), bundled. */
export function detectWorkerScript(): string {
  return bundleWorker(join(here, 'detect.worker.ts'));
}
