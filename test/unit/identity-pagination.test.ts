import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeCursor, encodeCursor, page } from '../../gateway/admin/mod.ts';
import { VigilError } from '../../schemas/mod.ts';

const ID = '0b6c1a4e-6f0d-4a53-9a43-59f0c1e2f7aa';

describe('keyset cursors', () => {
  test('round trip: microsecond keys and ids come back exactly', () => {
    const c = encodeCursor('1795212378152123', ID);
    assert.match(c, /^[A-Za-z0-9_-]+$/, 'URL-safe without escaping');
    assert.deepEqual(decodeCursor(c), { key: '1795212378152123', id: ID });
    assert.deepEqual(decodeCursor(encodeCursor('42', '41'), 'int'), { key: '42', id: '41' });
  });

  test('no cursor: first page', () => {
    assert.equal(decodeCursor(undefined), null);
  });

  const bad: [string, string, 'uuid' | 'int'][] = [
    ['not base64 JSON', 'garbage!!', 'uuid'],
    ['JSON but not a pair', Buffer.from('{"a":1}').toString('base64url'), 'uuid'],
    ['key not an integer', encodeCursor('yesterday', ID), 'uuid'],
    ['id not a uuid', encodeCursor('1', "1' OR '1'='1"), 'uuid'],
    ['uuid where an integer id is expected', encodeCursor('1', ID), 'int'],
    ['three elements', Buffer.from(JSON.stringify(['1', ID, 'x'])).toString('base64url'), 'uuid'],
  ];
  for (const [name, cursor, kind] of bad) {
    test(`refused: ${name}`, () => {
      assert.throws(
        () => decodeCursor(cursor, kind),
        (e: unknown) => e instanceof VigilError && e.code === 'VALIDATION_FAILED' && e.status === 400,
      );
    });
  }
});

describe('page()', () => {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `id${i}`, _k: String(1000 - i) }));

  test('one row more than the limit: trimmed, and the cursor points after the last kept row', () => {
    const p = page(rows(4), 3, (r) => r.id);
    assert.deepEqual(p.items, ['id0', 'id1', 'id2']);
    assert.equal(Buffer.from(p.nextCursor!, 'base64url').toString(), JSON.stringify(['998', 'id2']));
  });

  test('the last page has no cursor', () => {
    assert.deepEqual(
      page(rows(3), 3, (r) => r.id),
      { items: ['id0', 'id1', 'id2'], nextCursor: null },
    );
    assert.deepEqual(
      page([], 3, (r: { id: string; _k: string }) => r.id),
      { items: [], nextCursor: null },
    );
  });
});
