import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chValue } from '../../schemas/clickhouse.ts';
import { chIdent, chSql } from '../../schemas/mod.ts';

test('chValue escapes every value kind', () => {
  const cases: Array<[Parameters<typeof chValue>[0], string]> = [
    [null, 'NULL'],
    [undefined, 'NULL'],
    [42, '42'],
    [-1.5, '-1.5'],
    [10n, '10'],
    [true, '1'],
    [false, '0'],
    ['plain', "'plain'"],
    ["O'Brien", "'O\\'Brien'"],
    ['back\\slash', "'back\\\\slash'"],
    ['line\nbreak\ttab\r', "'line\\nbreak\\ttab\\r'"],
    ['nul\0byte', "'nul\\0byte'"],
    ["'); DROP TABLE telemetry; --", "'\\'); DROP TABLE telemetry; --'"],
    [new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "toDateTime(1767323045, 'UTC')"],
    [['a', 1, null], "['a', 1, NULL]"],
  ];
  for (const [input, expected] of cases) assert.equal(chValue(input), expected, String(input));
});

test('chValue refuses values that have no safe SQL form', () => {
  assert.throws(() => chValue(Number.NaN), TypeError);
  assert.throws(() => chValue(Number.POSITIVE_INFINITY), TypeError);
  assert.throws(() => chValue(new Date('nope')), TypeError);
  assert.throws(() => chValue({} as never), TypeError);
});

test('chSql escapes interpolated values and leaves the template alone', () => {
  const tenant = "x' OR 1=1 --";
  assert.equal(
    chSql`SELECT count() FROM telemetry WHERE tenant_id = ${tenant} AND ts_ms > ${5}`,
    "SELECT count() FROM telemetry WHERE tenant_id = 'x\\' OR 1=1 --' AND ts_ms > 5",
  );
});

test('chIdent accepts identifiers and rejects anything else', () => {
  assert.equal(chIdent('vigil_test'), 'vigil_test');
  for (const bad of ['', '1abc', 'a-b', 'a.b', 'a;b', 'a b', "a'"])
    assert.throws(() => chIdent(bad), TypeError, bad);
});
