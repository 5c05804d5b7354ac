/**
 * The fault harness, long form: a steady load while the actor node is SIGKILLed, PostgreSQL,
 * ClickHouse, Redis and NATS are restarted in turn and the load spikes 3× and 10×; then the
 * ledger. Prints the table; `--write` also writes docs/reliability.md. Restarts this
 * checkout's own services only (VIGIL_PORT_OFFSET picks the stack): never run it while the
 * test suite uses them.
 *
 *   VIGIL_PORT_OFFSET=… tsx bench/chaos.bench.ts [--rate 1000] [--write]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { ALL_FAULTS, chaosTable, runChaos } from './lib/chaos.ts';
import { REPO_ROOT } from './lib/child.ts';

/**
 * Replaces the long form's section of the document (between its markers) and leaves the rest —
 * the CI short form, the fuzz runs, the notes written by hand — as it is.
 */
function writeSection(file: string, section: string): void {
  const start = '<!-- bench:chaos --write replaces from here -->';
  const end = '<!-- bench:chaos --write replaces to here -->';
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Reliability under faults\n\n';
  const i = current.indexOf(start);
  const j = current.indexOf(end);
  const body = `${start}\n\n${section}\n${end}`;
  writeFileSync(
    file,
    i >= 0 && j > i
      ? current.slice(0, i) + body + current.slice(j + end.length)
      : `${current.trimEnd()}\n\n${body}\n`,
  );
}

const i = process.argv.indexOf('--rate');
const rate = i >= 0 ? Number(process.argv[i + 1]) : 1000;
const UNITS = 200;
const STEADY_S = 15;
const DOWN_S = 5;
const result = await runChaos({
  rate,
  units: UNITS,
  steadyMs: STEADY_S * 1000,
  downMs: DOWN_S * 1000,
  drainTimeoutMs: 300_000,
  faults: ALL_FAULTS,
  log: (line) => process.stdout.write(`${line}\n`),
});
const table = chaosTable(result);
process.stdout.write(`\n${table}\n`);
for (const d of result.alertDifferences.slice(0, 10)) process.stdout.write(`alert differs: ${d}\n`);
if (process.argv.includes('--write')) {
  const doc = `Measured by \`npm run bench:chaos\` (\`bench/chaos.bench.ts\`); the short form runs in CI as
\`test/chaos/faults.test.ts\` (the actor node SIGKILLed and each service restarted, no spikes),
alone, after every other test file, because it restarts the services the others use.

**Load.** ${rate} readings/s over ${UNITS} units, each unit with one threshold rule (warning
above 8 °C, critical above 10 °C, held 30 s; clear at 5 °C held 20 s) and readings that swing
through breaches, escalations and recoveries (the crash scenario's input, 10 s of device time
apart). Every reading has a unique id (\`Nats-Msg-Id\` = unit + device time). Like a device with a
store-and-forward buffer, each unit has one publish in flight and retries a failed one with the
same id until JetStream acknowledges it, so each unit's readings are stored in order.

**Faults**, in turn, ${STEADY_S} s apart: the actor node (equipment actors and every sink) is
killed with SIGKILL and started again with the same node id; PostgreSQL, ClickHouse, Redis and
NATS are each stopped for ${DOWN_S} s and started again through \`ops/\` (\`bounceService\`: only
that service of this checkout's stack); the load jumps to 3× and then 10× for ${STEADY_S} s.

**Ledger.** Every acknowledged id is looked up in PostgreSQL and ClickHouse (lost, duplicated);
the consumers of TELEMETRY and EVENTS must drain to zero; the DLQ must stay empty; and the alerts,
with their timelines, must equal those of an uninterrupted node fed exactly the acknowledged input.

Machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end of the run; the load
generator, the actor node and all four services run on it. Run of
${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${(result.durationMs / 1000).toFixed(0)} s.

${table}

"Down / spike" is how long the fault lasted as the harness saw it: for SIGKILL, from the kill
until the new node serves every partition (mostly its start-up on a loaded machine); for a
restart, stop + ${DOWN_S} s down + start until healthy. "Time to recover" runs from the end of the
fault until the TELEMETRY consumers' backlog is back to what a healthy system carries at this
load. "Backlog peak" counts unacknowledged deliveries summed over TELEMETRY's consumers (8
equipment partitions and the two sinks: a reading waiting for all three counts three times).
During a PostgreSQL or ClickHouse outage only that sink waits (retried without limit, never
dead-lettered); during a NATS outage the publishers' retries carry the load across ("publishes
retried"). Spikes show the rate the system acknowledged, which per-unit ordering bounds.

ClickHouse rows are counted with FINAL: a batch redelivered after a restart is written twice and
collapsed by the ReplacingMergeTree; "rows before merge" shows how many such copies the run left
for the merge to remove.
`;
  writeSection(join(REPO_ROOT, 'docs', 'reliability.md'), doc);
}
const ok =
  result.alertDifferences.length === 0 &&
  result.dlq === 0 &&
  result.pgLost === 0 &&
  result.chLost === 0 &&
  result.pgDuplicated === 0 &&
  result.chDuplicatedAfterMerge === 0 &&
  result.drained;
process.exitCode = ok ? 0 : 1;
