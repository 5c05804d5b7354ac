/**
 * Closing a detector pool never stops a thread inside onnxruntime. A worker thread terminated
 * while a native call runs (loading a model, a frame's inference, releasing a session) aborts
 * the whole process: node-addon-api cannot throw into a thread that is being torn down and
 * calls std::terminate ("terminate called after throwing an instance of 'Napi::Error'"), the
 * abort seen while a test deleted its cameras. Pools are opened and closed in a child process
 * at each of those moments; it must end normally.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const CHILD = fileURLToPath(new URL('../helpers/detector-pool-churn.ts', import.meta.url));

function churn(
  rounds: number,
): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, String(rounds)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code, signal) => resolve({ code, signal, out, err }));
  });
}

test('pools closed while their threads load, run and release models: the process lives', async () => {
  const rounds = 12;
  const r = await churn(rounds);
  assert.doesNotMatch(r.err, /terminate called/, r.err);
  assert.equal(r.signal, null, `the child died of ${r.signal}: ${r.err.slice(-2000)}`);
  assert.equal(r.code, 0, r.err.slice(-2000));
  assert.match(r.out, new RegExp(`round ${rounds - 1} closed`));
});
