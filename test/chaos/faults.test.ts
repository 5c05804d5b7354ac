/**
 * The fault harness, short form (issue 10): under a steady load, the actor node is SIGKILLed
 * and PostgreSQL, ClickHouse, Redis and NATS are restarted in turn, and the load spikes; the
 * ledger of acknowledged readings ends with nothing lost and nothing duplicated. It restarts the
 * services the suite uses: ops/test.sh runs test/chaos alone, after every other test file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_FAULTS, chaosTable, runChaos } from '../../bench/lib/chaos.ts';

test('SIGKILL of the actor node and a restart of each service under load: 0 lost, 0 duplicated', async () => {
  const lines: string[] = [];
  const r = await runChaos({
    rate: 100,
    units: 20,
    steadyMs: 3000,
    downMs: 2000,
    drainTimeoutMs: 120_000,
    faults: ALL_FAULTS,
    log: (line) => lines.push(line),
  });
  const table = chaosTable(r);
  assert.ok(r.acked > 500, table);
  assert.equal(r.faults.length, ALL_FAULTS.length);
  assert.equal(r.drained, true, table);
  assert.equal(r.pgLost, 0, table);
  assert.equal(r.pgDuplicated, 0, table);
  assert.equal(r.chLost, 0, table);
  assert.equal(r.chDuplicatedAfterMerge, 0, table);
  assert.equal(r.dlq, 0, table);
});
