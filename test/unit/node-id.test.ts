import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stableNodeId } from '../../actors/node-id.ts';

const home = await mkdtemp(join(tmpdir(), 'vigil-node-id-'));
after(() => rm(home, { recursive: true, force: true }));

test('VIGIL_NODE_ID wins', async () => {
  const id = await stableNodeId({ VIGIL_HOME: home, VIGIL_NS: 'fixed', VIGIL_NODE_ID: 'edge-7' });
  assert.equal(id.id, 'edge-7');
});

test('two live nodes never share an id; a stopped node’s id is taken by the next one', async () => {
  const config = { VIGIL_HOME: home, VIGIL_NS: 'a' };
  const first = await stableNodeId(config);
  const second = await stableNodeId(config);
  assert.notEqual(first.id, second.id);
  first.release();
  const third = await stableNodeId(config);
  assert.equal(third.id, first.id, 'the released slot is reused');
  second.release();
  third.release();
});

test('the slot of a process that died is reclaimed, with the new pid written in it', async () => {
  const config = { VIGIL_HOME: home, VIGIL_NS: 'b' };
  const dead = spawnSync(process.execPath, [
    '-e',
    'process.stdout.write(String(process.pid))',
  ]).stdout.toString();
  await mkdir(join(home, 'nodes', 'b'), { recursive: true });
  await writeFile(join(home, 'nodes', 'b', 'crashed-node.pid'), dead);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await stableNodeId(config)).id);
  assert.ok(ids.includes('crashed-node'));
  assert.equal(
    (await readFile(join(home, 'nodes', 'b', 'crashed-node.pid'), 'utf8')).trim(),
    String(process.pid),
  );
});
