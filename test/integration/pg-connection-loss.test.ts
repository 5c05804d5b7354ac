/**
 * A PostgreSQL restart under load (issue 10's fault run) killed the actor node: a pooled client
 * checked out when its connection died emitted 'error' with nobody listening. A lost connection
 * is an error for the query on it, never for the process; the pool replaces the client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool, loadConfig, migrate, withTransaction } from '../../schemas/mod.ts';

const config = loadConfig(process.env, { LOG_LEVEL: 'silent' });

test('a checked-out client whose backend is terminated fails its work, not the process', async () => {
  await migrate(config);
  const pool = createPool(config, 'worker', 1);
  const admin = createPool(config, 'admin', 1);
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => void uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const outcome = await withTransaction(pool, async (c) => {
      const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // The server side of this very connection goes away while the client is checked out and idle.
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await sleep(300);
      return 'still running';
    }).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
    // The transaction cannot commit on a dead connection: it fails, as any query on it would.
    assert.match(outcome, /connection error|terminat/i);
    assert.deepEqual(uncaught, []);
    // The dead client was dropped: the pool of one serves the next query on a new connection.
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    assert.equal(rows[0]!.one, 1);
  } finally {
    process.off('uncaughtException', onUncaught);
    await pool.end();
    await admin.end();
  }
});
