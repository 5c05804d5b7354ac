import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { VigilError, type ErrorCode } from '../../schemas/mod.ts';
import { errorBody, toVigilError } from '../../gateway/error-handler.ts';
import { genRequestId, quietLogLevel, redactUrl } from '../../gateway/http-logging.ts';

const fastifyError = (code: string, statusCode: number) =>
  Object.assign(new Error(code), { code, statusCode });

describe('toVigilError', () => {
  const cases: { name: string; err: unknown; code: ErrorCode; status: number }[] = [
    { name: 'VigilError passes through', err: new VigilError('CONFLICT'), code: 'CONFLICT', status: 409 },
    {
      name: 'body too large',
      err: fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413),
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
    },
    {
      name: 'unsupported media type',
      err: fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415),
      code: 'UNSUPPORTED_MEDIA_TYPE',
      status: 415,
    },
    {
      name: 'bad JSON',
      err: fastifyError('FST_ERR_CTP_INVALID_JSON_BODY', 400),
      code: 'BAD_JSON',
      status: 400,
    },
    {
      name: 'empty JSON',
      err: fastifyError('FST_ERR_CTP_EMPTY_JSON_BODY', 400),
      code: 'BAD_JSON',
      status: 400,
    },
    {
      name: 'prototype poisoning',
      err: Object.assign(new SyntaxError('Object contains forbidden prototype property'), {
        statusCode: 400,
      }),
      code: 'BAD_JSON',
      status: 400,
    },
    { name: 'other 401', err: fastifyError('X', 401), code: 'UNAUTHENTICATED', status: 401 },
    { name: 'other 429', err: fastifyError('X', 429), code: 'RATE_LIMITED', status: 429 },
    // A Fastify 4xx without a precise code of its own (FST_ERR_BAD_URL now has one: BAD_REQUEST).
    {
      name: 'other 4xx',
      err: fastifyError('FST_ERR_SOMETHING_ELSE', 400),
      code: 'VALIDATION_FAILED',
      status: 400,
    },
    { name: 'bad URL', err: fastifyError('FST_ERR_BAD_URL', 400), code: 'BAD_REQUEST', status: 400 },
    {
      name: 'plain Error',
      err: new Error('connect ECONNREFUSED 10.0.0.7:5432'),
      code: 'INTERNAL',
      status: 500,
    },
    { name: 'a thrown string', err: 'oops', code: 'INTERNAL', status: 500 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const e = toVigilError(c.err);
      assert.equal(e.code, c.code);
      assert.equal(e.status, c.status);
    });
  }

  test('schema errors: unknown field wins, every error listed with where it was', () => {
    const err = Object.assign(new Error('x'), {
      validation: [
        {
          instancePath: '',
          keyword: 'additionalProperties',
          params: { additionalProperty: 'colour' },
          message: 'x',
        },
      ],
      validationContext: 'body',
    });
    const e = toVigilError(err);
    assert.equal(e.code, 'UNKNOWN_FIELD');
    assert.equal(e.message, "body: unknown field 'colour'");
    assert.deepEqual(e.details, [
      { in: 'body', path: '', keyword: 'additionalProperties', message: "unknown field 'colour'" },
    ]);
  });

  test('schema errors: anything else is VALIDATION_FAILED', () => {
    const err = Object.assign(new Error('x'), {
      validation: [{ instancePath: '/limit', keyword: 'maximum', message: 'must be <= 200' }],
      validationContext: 'querystring',
    });
    const e = toVigilError(err);
    assert.equal(e.code, 'VALIDATION_FAILED');
    assert.equal(e.message, 'querystring/limit: must be <= 200');
  });
});

describe('errorBody', () => {
  test('client errors keep message and details', () => {
    const body = errorBody(
      new VigilError('UNKNOWN_FIELD', "body: unknown field 'x'", { details: [1] }),
      'r1',
    );
    assert.deepEqual(body, {
      error: { code: 'UNKNOWN_FIELD', message: "body: unknown field 'x'", details: [1], requestId: 'r1' },
    });
  });
  test('server errors never carry the thrown message or details', () => {
    const body = errorBody(
      new VigilError('INTERNAL', 'password=hunter2 at db.internal', { details: { sql: 'SELECT' } }),
      'r2',
    );
    assert.deepEqual(body, { error: { code: 'INTERNAL', message: 'Internal error', requestId: 'r2' } });
  });
});

describe('request ids and log redaction', () => {
  const req = (id?: string) =>
    ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as IncomingMessage;
  test('a sane caller id is kept', () =>
    assert.equal(genRequestId(req('trace-0123456789')), 'trace-0123456789'));
  for (const bad of ['', 'short', 'has space in it', 'x'.repeat(200), 'line\nbreak-0123']) {
    test(`an unusable id is replaced: ${JSON.stringify(bad).slice(0, 20)}`, () => {
      assert.match(genRequestId(req(bad)), /^[0-9a-f-]{36}$/);
    });
  }
  test('no header: a fresh uuid', () => assert.match(genRequestId(req()), /^[0-9a-f-]{36}$/));
  test('access_token is redacted, other parameters kept', () => {
    assert.equal(
      redactUrl('/v1/stream?kind=alert&access_token=eyJabc'),
      '/v1/stream?kind=alert&access_token=%5Bredacted%5D',
    );
    assert.equal(redactUrl('/v1/stream?kind=alert'), '/v1/stream?kind=alert');
    assert.equal(redactUrl('/health'), '/health');
  });
});

describe('quietLogLevel', () => {
  const cases: [string, string][] = [
    ['trace', 'warn'],
    ['info', 'warn'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['silent', 'silent'],
  ];
  for (const [configured, want] of cases)
    test(`${configured} → ${want}`, () => assert.equal(quietLogLevel(configured), want));
});
