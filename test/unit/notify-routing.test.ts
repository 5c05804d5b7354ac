import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  notificationRoutes,
  retryDelayMs,
  verifySignature,
  webhookSignature,
  type Channel,
} from '../../actors/mod.ts';

const channel: Channel = {
  id: 'c',
  tenantId: 't1',
  name: 'hook',
  url: 'http://127.0.0.1/hook',
  secret: 's'.repeat(43),
  minSeverity: 'warning',
  siteIds: ['s1'],
  remindEveryS: null,
};

describe('notification routing', () => {
  const cases: Array<
    [
      string,
      { tenantId: string; siteId: string; severity: 'info' | 'warning' | 'critical'; suppressed: boolean },
      boolean,
    ]
  > = [
    [
      'at the minimum severity, on a listed site',
      { tenantId: 't1', siteId: 's1', severity: 'warning', suppressed: false },
      true,
    ],
    ['above it', { tenantId: 't1', siteId: 's1', severity: 'critical', suppressed: false }, true],
    ['below it', { tenantId: 't1', siteId: 's1', severity: 'info', suppressed: false }, false],
    ['another site', { tenantId: 't1', siteId: 's2', severity: 'critical', suppressed: false }, false],
    ['another tenant', { tenantId: 't2', siteId: 's1', severity: 'critical', suppressed: false }, false],
    [
      'opened in a maintenance window',
      { tenantId: 't1', siteId: 's1', severity: 'critical', suppressed: true },
      false,
    ],
  ];
  for (const [name, alert, want] of cases) {
    test(name, () => assert.equal(notificationRoutes(channel, alert), want));
  }

  test('no site list: every site', () => {
    assert.equal(
      notificationRoutes(
        { ...channel, siteIds: null },
        { tenantId: 't1', siteId: 's9', severity: 'warning', suppressed: false },
      ),
      true,
    );
  });

  test('backoff doubles from the base up to the cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 10].map((n) => retryDelayMs(n, 1000, 10_000)),
      [1000, 2000, 4000, 8000, 10_000],
    );
  });

  test('signatures verify with the secret and the body, within the tolerance only', () => {
    const body = '{"kind":"opened"}';
    const sig = webhookSignature('secret-a', body, 1_700_000_000);
    assert.equal(verifySignature('secret-a', body, sig, 1_700_000_100), true);
    assert.equal(verifySignature('secret-b', body, sig, 1_700_000_100), false, 'another secret');
    assert.equal(verifySignature('secret-a', `${body} `, sig, 1_700_000_100), false, 'another body');
    assert.equal(verifySignature('secret-a', body, sig, 1_700_001_000), false, 'too old: a replay');
    assert.equal(verifySignature('secret-a', body, 'garbage', 1_700_000_000), false);
  });
});
