/**
 * The fault harness, long form: a steady load while the actor node is SIGKILLed, PostgreSQL,
 * ClickHouse, Redis and NATS are restarted in turn and the load spikes 3× and 10×; then the
 * ledger. Prints the table; `--write` also writes docs/reliability.md. Restarts this
 * checkout's own services only (VIGIL_PORT_OFFSET picks the stack): never run it while the
 * test suite uses them.
 *
 *   VIGIL_PORT_OFFSET=… tsx bench/chaos.bench.ts [--rate 1000] [--write]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { ALL_FAULTS, chaosTable, runChaos } from './lib/chaos.ts';
import { REPO_ROOT } from './lib/child.ts';

const i = process.argv.indexOf('--rate');
const rate = i >= 0 ? Number(process.argv[i + 1]) : 1000;
const result = await runChaos({
  rate,
  units: 200,
  steadyMs: 15_000,
  downMs: 5000,
  drainTimeoutMs: 300_000,
  faults: ALL_FAULTS,
  log: (line) => process.stdout.write(`${line}\n`),
});
const table = chaosTable(result);
process.stdout.write(`\n${table}\n`);
if (process.argv.includes('--write')) {
  const doc = `# Reliability under faults

Measured by \`bench/chaos.bench.ts\` (the short form runs in CI as \`test/chaos/faults.test.ts\`).
A steady load of ${rate} readings/s over 200 units, each reading with a unique id
(\`Nats-Msg-Id\` = unit + device time; a failed publish is retried with the same id until
JetStream acknowledges it). During the load, in turn and ${15} s apart: the actor node is killed
with SIGKILL and started again; PostgreSQL, ClickHouse, Redis and NATS are each stopped for
${5} s and started again through \`ops/\`; the load jumps to 3× and then 10× for 15 s. Then the
ledger: every acknowledged id is looked up in PostgreSQL and ClickHouse.

Machine: ${cpus().length} cores shared with other work; the load generator, the actor node and
all four services run on it. Run of ${new Date().toISOString().slice(0, 10)}, ${(result.durationMs / 1000).toFixed(0)} s.

${table}

"Time to recover" runs from the end of the fault (service started again, node restarted, spike
over) until the TELEMETRY consumers' backlog is back to what a healthy system carries at this
load. A SIGKILLed node's partitions wait for its lease to go stale (15 s) before the new node
takes them; the sinks (separate durable consumers) resume at once. During a PostgreSQL or
ClickHouse outage only that sink waits (nak with backoff, never dead-lettered); during a NATS
outage the publisher's retries carry the load across.

ClickHouse rows are counted with FINAL: a batch redelivered after a restart is written twice and
collapsed by the ReplacingMergeTree; "rows before merge" shows how many such copies the run left
for the merge to remove.
`;
  writeFileSync(join(REPO_ROOT, 'docs', 'reliability.md'), doc);
}
const ok =
  result.pgLost === 0 &&
  result.chLost === 0 &&
  result.pgDuplicated === 0 &&
  result.chDuplicatedAfterMerge === 0 &&
  result.drained;
process.exitCode = ok ? 0 : 1;
