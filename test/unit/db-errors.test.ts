import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromClickHouseError, fromPgError } from '../../actors/mod.ts';
import { isOutage, isRetryable } from '../../streams/mod.ts';
import type { ErrorCode } from '../../schemas/mod.ts';
import { fromDbError } from '../../gateway/identity/mod.ts';

/** What node-postgres and @clickhouse/client throw: an Error with a string `code`. */
const driverError = (code: string, message = `failure ${code}`): Error =>
  Object.assign(new Error(message), { code });

describe('database errors map onto the consumer policy', () => {
  const pg: Array<[sqlstate: string, name: string, want: ErrorCode]> = [
    ['40001', 'serialization_failure', 'DEPENDENCY_UNAVAILABLE'],
    ['40P01', 'deadlock_detected', 'DEPENDENCY_UNAVAILABLE'],
    ['55P03', 'lock_not_available', 'DEPENDENCY_UNAVAILABLE'],
    ['25006', 'read_only_sql_transaction (failover)', 'DEPENDENCY_UNAVAILABLE'],
    ['57P01', 'admin_shutdown', 'DEPENDENCY_UNAVAILABLE'],
    ['53300', 'too_many_connections', 'DEPENDENCY_UNAVAILABLE'],
    ['08006', 'connection_failure', 'DEPENDENCY_UNAVAILABLE'],
    ['23505', 'unique_violation', 'VALIDATION_FAILED'],
    ['22P02', 'invalid_text_representation', 'VALIDATION_FAILED'],
    ['42P01', 'undefined_table', 'INTERNAL'],
  ];
  for (const [sqlstate, name, want] of pg) {
    test(`PostgreSQL ${sqlstate} ${name} → ${want}`, () => {
      const err = fromPgError(driverError(sqlstate), 'writing');
      assert.equal(err.code, want);
      assert.equal(isOutage(err), want === 'DEPENDENCY_UNAVAILABLE');
    });
  }

  const ch: Array<[code: string, name: string, want: ErrorCode]> = [
    ['252', 'TOO_MANY_PARTS', 'DEPENDENCY_UNAVAILABLE'],
    ['241', 'MEMORY_LIMIT_EXCEEDED', 'DEPENDENCY_UNAVAILABLE'],
    ['243', 'NOT_ENOUGH_SPACE', 'DEPENDENCY_UNAVAILABLE'],
    ['202', 'TOO_MANY_SIMULTANEOUS_QUERIES', 'DEPENDENCY_UNAVAILABLE'],
    ['159', 'TIMEOUT_EXCEEDED', 'DEPENDENCY_UNAVAILABLE'],
    ['27', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'VALIDATION_FAILED'],
    ['117', 'INCORRECT_DATA', 'VALIDATION_FAILED'],
    ['60', 'UNKNOWN_TABLE', 'INTERNAL'],
  ];
  for (const [code, name, want] of ch) {
    test(`ClickHouse ${code} ${name} → ${want}`, () => {
      const err = fromClickHouseError(driverError(code), 'inserting');
      assert.equal(err.code, want);
      assert.equal(isOutage(err), want === 'DEPENDENCY_UNAVAILABLE');
      assert.equal(isRetryable(err), want !== 'VALIDATION_FAILED');
    });
  }

  test('the driver error stays attached as the cause', () => {
    const raw = driverError('40P01', 'deadlock detected');
    const err = fromPgError(raw, 'writing alert events');
    assert.equal(err.cause, raw);
    assert.match(err.message, /^writing alert events: .*40P01/);
  });
});

describe('one PostgreSQL mapper: a request and a stream writer agree on what is retryable', () => {
  for (const sqlstate of ['40001', '40P01', '53300', '55P03', '08006', '57P01']) {
    test(`${sqlstate} is a retryable 503 for a request and an outage for a consumer`, () => {
      const request = fromDbError(driverError(sqlstate));
      const stream = fromPgError(driverError(sqlstate), 'writing');
      assert.deepEqual(
        [request.code, request.status, request.retryable],
        ['DEPENDENCY_UNAVAILABLE', 503, true],
      );
      assert.equal(stream.code, request.code);
    });
  }
});
