import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VigilError } from '../../schemas/mod.ts';
import { disposition, type Disposition, type RetryPolicy } from '../../streams/mod.ts';

const policy: RetryPolicy = { maxDeliver: 3, backoffMs: [100, 200, 500] };
const outage = new VigilError('DEPENDENCY_UNAVAILABLE', 'PostgreSQL unavailable');
const badData = new VigilError('VALIDATION_FAILED', 'temperature is not a number');
const internal = new VigilError('INTERNAL', 'constraint surprise');
const bug = new TypeError('x is undefined');

const table: Array<{ name: string; error: unknown; attempt: number; want: Disposition }> = [
  { name: 'success acks', error: null, attempt: 1, want: { action: 'ack' } },
  { name: 'success on a late attempt acks', error: null, attempt: 9, want: { action: 'ack' } },
  {
    name: 'bad data is dead-lettered at once',
    error: badData,
    attempt: 1,
    want: { action: 'dead-letter', code: 'VALIDATION_FAILED', reason: 'temperature is not a number' },
  },
  {
    name: 'a retryable failure backs off',
    error: internal,
    attempt: 1,
    want: { action: 'retry', delayMs: 100 },
  },
  { name: '… longer each time', error: internal, attempt: 2, want: { action: 'retry', delayMs: 200 } },
  {
    name: '… until max deliveries, then the DLQ',
    error: internal,
    attempt: 3,
    want: {
      action: 'dead-letter',
      code: 'INTERNAL',
      reason: 'max deliveries exceeded (3): constraint surprise',
    },
  },
  {
    name: 'an outage retries past max deliveries',
    error: outage,
    attempt: 3,
    want: { action: 'retry', delayMs: 500 },
  },
  { name: '… at the last backoff step', error: outage, attempt: 40, want: { action: 'retry', delayMs: 500 } },
  {
    name: 'an unknown error is assumed transient',
    error: bug,
    attempt: 1,
    want: { action: 'retry', delayMs: 100 },
  },
  {
    name: '… and dead-lettered as INTERNAL at the limit',
    error: bug,
    attempt: 3,
    want: { action: 'dead-letter', code: 'INTERNAL', reason: 'max deliveries exceeded (3): x is undefined' },
  },
];

for (const row of table) {
  test(`disposition: ${row.name}`, () => {
    assert.deepEqual(disposition(row.error, row.attempt, policy), row.want);
  });
}
