import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, VigilError, isVigilError, type ErrorBody, type ErrorCode } from '../schemas/mod.ts';

/** Fastify's own error codes that have a precise Vigil equivalent. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
};

/** Any other client error, by status, so the code is always one from the registry. */
const BY_STATUS: Record<number, ErrorCode> = {
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'DEPENDENCY_UNAVAILABLE',
};

interface SchemaError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function fromValidation(validation: SchemaError[], where: string | undefined): VigilError {
  const unknown = validation.some((e) => e.keyword === 'additionalProperties');
  const details = validation.map((e) => {
    const field = e.keyword === 'additionalProperties' ? e.params?.['additionalProperty'] : undefined;
    return {
      in: where ?? 'body',
      path: e.instancePath ?? '',
      keyword: e.keyword ?? 'invalid',
      message: typeof field === 'string' ? `unknown field '${field}'` : (e.message ?? 'invalid'),
    };
  });
  const first = details[0];
  const message = first
    ? `${first.in}${first.path || ''}: ${first.message}`
    : ERRORS.VALIDATION_FAILED.message;
  return new VigilError(unknown ? 'UNKNOWN_FIELD' : 'VALIDATION_FAILED', message, { details });
}

/**
 * Map anything thrown in a request to a registry error. Client errors keep a precise code;
 * everything else becomes INTERNAL, whose message is generic: the original goes to the log only.
 */
export function toVigilError(err: unknown): VigilError {
  if (isVigilError(err)) return err;
  const e = err as Partial<FastifyError> & { validationContext?: string };
  if (Array.isArray(e.validation)) return fromValidation(e.validation as SchemaError[], e.validationContext);
  const mapped = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return new VigilError(mapped, undefined, { cause: err });
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  // Fastify's JSON parser (secure-json-parse) reports prototype poisoning as a SyntaxError with 400.
  if (status === 400 && err instanceof SyntaxError)
    return new VigilError('BAD_JSON', undefined, { cause: err });
  const byStatus = BY_STATUS[status];
  if (byStatus) return new VigilError(byStatus, undefined, { cause: err });
  if (status >= 400 && status < 500) return new VigilError('VALIDATION_FAILED', undefined, { cause: err });
  return new VigilError('INTERNAL', undefined, { cause: err });
}

export function errorBody(err: VigilError, requestId: string): ErrorBody {
  const internal = err.status >= 500;
  const error: ErrorBody['error'] = {
    code: err.code,
    // 5xx bodies never carry a thrown message: it may name hosts, queries or stack frames.
    message: internal ? ERRORS[err.code].message : err.message,
    requestId,
  };
  if (!internal && err.details !== undefined) error.details = err.details;
  return { error };
}

function send(request: FastifyRequest, reply: FastifyReply, err: VigilError): FastifyReply {
  if (err.code === 'DEPENDENCY_UNAVAILABLE') reply.header('retry-after', '1');
  return reply.code(err.status).type('application/json; charset=utf-8').send(errorBody(err, request.id));
}

/**
 * Fastify's `frameworkErrors`: a URL the router cannot take (bad percent-encoding, a path
 * parameter over its length limit) is answered before any route runs; in the envelope too.
 */
export function frameworkErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toVigilError(err);
  request.log.info({ code: e.code, reason: e.message }, 'request rejected');
  void send(request, reply, e);
}

/** The one error handler, the 404 handler and the request-id response header. */
export function installErrorHandling(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.setErrorHandler((raw: unknown, request, reply) => {
    const err = toVigilError(raw);
    if (err.status >= 500) {
      request.log.error({ err: raw, code: err.code }, 'request failed');
    } else {
      request.log.info({ code: err.code, reason: err.message }, 'request rejected');
    }
    return send(request, reply, err);
  });

  app.setNotFoundHandler((request, reply) =>
    send(
      request,
      reply,
      new VigilError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`),
    ),
  );
}
