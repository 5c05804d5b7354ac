import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TurnBudget } from '../../streams/mod.ts';

/** A clock the test moves: what the budget measures, without depending on the machine's speed. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('the handling budget of one event-loop turn', () => {
  test('within the slice it says go on; past it, every caller waits for the same next turn', async () => {
    const clock = fakeClock();
    const budget = new TurnBudget(10, clock.now);
    assert.equal(budget.due(), null, 'the first message of a turn starts the slice');
    clock.advance(9);
    assert.equal(budget.due(), null);
    clock.advance(1);
    const a = budget.due();
    const b = budget.due();
    assert.ok(a instanceof Promise);
    assert.equal(a, b, 'one wait for every runner of the process');
    await a;
    assert.equal(budget.due(), null, 'the next turn starts a new slice');
  });

  test('loops handling a backlog let other work run between slices, and all of it gets done', async () => {
    const clock = fakeClock();
    const budget = new TurnBudget(10, clock.now);
    let handled = 0;
    // Three partitions' loops, 30 messages each, 1 ms of handling per message (as the clock
    // counts it): 90 ms of work, no real wait anywhere in it but the budget's.
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 30; i++) {
        await Promise.resolve();
        clock.advance(1);
        handled++;
        const turn = budget.due();
        if (turn) await turn;
      }
    };
    let handledWhenOtherWorkRan = -1;
    setImmediate(() => (handledWhenOtherWorkRan = handled));
    await Promise.all([loop(), loop(), loop()]);
    assert.equal(handled, 90);
    assert.ok(
      handledWhenOtherWorkRan > 0 && handledWhenOtherWorkRan <= 13,
      // One slice (10 ms, shared) plus the message each other loop was handling when it ended.
      `other work ran after ${handledWhenOtherWorkRan} of 90 messages`,
    );
  });
});
