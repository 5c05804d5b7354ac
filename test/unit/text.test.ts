import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findNul } from '../../schemas/mod.ts';

test('findNul points at the first string or key holding U+0000', () => {
  const table: Array<[unknown, string | null]> = [
    ['plain', null],
    ['a\u0000', ''],
    [{ a: 1, b: [true, null, 'x'] }, null],
    [{ a: { b: ['ok', 'n\u0000'] } }, '/a/b/1'],
    [{ 'k\u0000': 1 }, '/k\\u0000'],
    [{ 'a/b~c': 'x\u0000' }, '/a~1b~0c'],
    [42, null],
  ];
  for (const [value, expected] of table) assert.equal(findNul(value), expected, JSON.stringify(value));
});

test('findNul walks a deeply nested value without overflowing the stack', () => {
  let deep: unknown = 'end\u0000';
  for (let i = 0; i < 200_000; i++) deep = [deep];
  assert.equal(findNul(deep), '/0'.repeat(200_000));
});
