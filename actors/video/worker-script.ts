import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

let built: string | null = null;

/**
 * The detector worker as one plain ES module. Worker threads do not inherit the tsx loader, so
 * the TypeScript worker (and the decoding code it shares with the rest of the pipeline) is
 * bundled once per process into node_modules/.cache, next to the packages it imports at run
 * time (onnxruntime-node stays external: it is native).
 */
export function detectWorkerScript(): string {
  if (built) return built;
  const outfile = join(root, 'node_modules', '.cache', 'vigil', 'detect.worker.mjs');
  const staging = `${outfile}.${process.pid}.tmp.mjs`;
  mkdirSync(dirname(outfile), { recursive: true });
  buildSync({
    entryPoints: [join(here, 'detect.worker.ts')],
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
  built = outfile;
  return outfile;
}
