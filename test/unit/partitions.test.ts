import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assignPartitions, partitionsOf } from '../../streams/mod.ts';

const COUNT = 999;

function moved(before: string[], after: string[]): number[] {
  return before.flatMap((owner, p) => (after[p] === owner ? [] : [p]));
}

describe('rendezvous partition assignment', () => {
  test('every partition has exactly one owner, and it is one of the nodes', () => {
    const nodes = ['node-a', 'node-b', 'node-c'];
    const owners = assignPartitions(nodes, COUNT);
    assert.equal(owners.length, COUNT);
    for (const owner of owners) assert.ok(nodes.includes(owner), `unknown owner ${owner}`);
    const union = nodes.flatMap((n) => partitionsOf(n, nodes, COUNT)).sort((a, b) => a - b);
    assert.deepEqual(
      union,
      Array.from({ length: COUNT }, (_, p) => p),
      'the nodes partition the set: no gap, no overlap',
    );
  });

  test('the answer depends on the set of nodes, not their order or duplicates', () => {
    assert.deepEqual(assignPartitions(['b', 'a', 'c'], 64), assignPartitions(['c', 'a', 'b', 'a'], 64));
  });

  test('adding a third node moves about a third of the partitions, all to the new node', () => {
    const before = assignPartitions(['node-a', 'node-b'], COUNT);
    const after = assignPartitions(['node-a', 'node-b', 'node-c'], COUNT);
    const changed = moved(before, after);
    for (const p of changed) assert.equal(after[p], 'node-c', `partition ${p} moved between old nodes`);
    const share = changed.length / COUNT;
    assert.ok(share > 0.25 && share < 0.42, `moved ${changed.length}/${COUNT}`);
  });

  test('losing a node moves only the partitions it owned', () => {
    const before = assignPartitions(['node-a', 'node-b', 'node-c'], COUNT);
    const after = assignPartitions(['node-a', 'node-c'], COUNT);
    const changed = moved(before, after);
    assert.deepEqual(changed, partitionsOf('node-b', ['node-a', 'node-b', 'node-c'], COUNT));
  });

  test('load is roughly even', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4'];
    for (const n of nodes) {
      const share = partitionsOf(n, nodes, COUNT).length / COUNT;
      assert.ok(share > 0.18 && share < 0.32, `${n} owns ${share}`);
    }
  });

  test('no nodes, no owners; one node owns all', () => {
    assert.deepEqual(assignPartitions([], 8), []);
    assert.deepEqual(partitionsOf('solo', ['solo'], 8), [0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
