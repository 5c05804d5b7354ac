/**
 * The gateway stays a thin HTTP process: loading it must not pull in the actor runtime
 * (Moleculer, actors/). A child process records every module it resolves while importing
 * gateway/mod.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function modulesLoadedBy(entry: URL): Promise<string[]> {
  const code = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
    await import(${JSON.stringify(entry.href)});
    // exit only once the pipe has taken it all: a large list written to a pipe is asynchronous.
    process.stdout.write(JSON.stringify(seen), () => process.exit(0));`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as string[];
}

/**
 * The parts of actors/ the gateway may load: the pure surfaces of the equipment engine
 * (`actors/equipment/mod.ts`: decider and backtest, lint-checked to import no I/O), so a
 * backtest runs exactly the code live actors run, and of the camera actor
 * (`actors/camera/mod.ts`: tracker, zones, zone shape rules). Services, hosts, kinds, repos,
 * the kernel, sinks and notifiers stay out.
 */
const PURE_ACTOR_MODULE = /\/actors\/(equipment|camera)\/(?!.*\.(service|host|kind|repo)\.ts$)[^/]+\.ts$/;

test('importing the gateway loads neither Moleculer nor actors/ (beyond the pure decider)', async () => {
  const urls = await modulesLoadedBy(new URL('../../gateway/mod.ts', import.meta.url));
  // Positive control: the recorder saw the gateway itself and its HTTP framework.
  assert.ok(urls.some((u) => u.endsWith('/gateway/app.ts')));
  assert.ok(urls.some((u) => u.includes('/node_modules/fastify/')));
  assert.deepEqual(
    urls.filter(
      (u) =>
        u.includes('/node_modules/moleculer/') ||
        (/\/actors\/[^/]+/.test(u.split('/node_modules/')[0]!) && !PURE_ACTOR_MODULE.test(u)),
    ),
    [],
  );
});
