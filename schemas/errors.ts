/**
 * One registry of error codes. Every error that crosses a boundary (HTTP response, DLQ
 * header, log line) carries a stable `code`; HTTP status and retryability are properties
 * of the code, so callers never guess them.
 */
export const ERRORS = {
  // 400: the caller sent something we will never accept.
  VALIDATION_FAILED: { status: 400, retryable: false, message: 'Request failed validation' },
  BAD_JSON: { status: 400, retryable: false, message: 'Body is not valid JSON' },
  UNKNOWN_FIELD: { status: 400, retryable: false, message: 'Unknown field' },
  TIMESTAMP_OUT_OF_RANGE: { status: 400, retryable: false, message: 'Timestamp outside accepted range' },
  VALUE_OUT_OF_RANGE: { status: 400, retryable: false, message: 'Value outside accepted range' },
  NUL_CHARACTER: { status: 400, retryable: false, message: 'Text contains a NUL character (U+0000)' },
  UNSUPPORTED_RULE_KIND: {
    status: 400,
    retryable: false,
    message: 'Rule kind not evaluated by the alert engine',
  },
  BAD_REQUEST: { status: 400, retryable: false, message: 'Malformed HTTP request' },
  REQUEST_TIMEOUT: { status: 408, retryable: true, message: 'The request was not received in time' },
  URI_TOO_LONG: { status: 414, retryable: false, message: 'Request URI too long' },
  HEADERS_TOO_LARGE: { status: 431, retryable: false, message: 'Request headers too large' },
  BACKTEST_TOO_LARGE: { status: 400, retryable: false, message: 'Backtest larger than its bound' },
  REPLAY_TOO_LARGE: { status: 400, retryable: false, message: 'Zone replay larger than its bound' },
  ZONE_TOO_FEW_POINTS: {
    status: 400,
    retryable: false,
    message: 'A zone needs at least three points (a line exactly two)',
  },
  ZONE_OUTSIDE_IMAGE: {
    status: 400,
    retryable: false,
    message: 'Zone points must lie inside the image (0..1)',
  },
  ZONE_SELF_INTERSECTING: { status: 400, retryable: false, message: 'Zone edges must not cross each other' },
  IMAGE_INVALID: {
    status: 400,
    retryable: false,
    message: 'The upload is not a JPEG or PNG image that decodes',
  },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'Unsupported media type' },
  IMAGE_TOO_LARGE: { status: 413, retryable: false, message: 'Image larger than the pixel bound' },
  // 401/403/404: who you are and what you may see.
  UNAUTHENTICATED: { status: 401, retryable: false, message: 'Authentication required' },
  INVALID_TOKEN: { status: 401, retryable: false, message: 'Invalid or expired token' },
  INVALID_CREDENTIALS: { status: 401, retryable: false, message: 'Invalid email or password' },
  INVALID_API_KEY: { status: 401, retryable: false, message: 'Invalid API key' },
  FORBIDDEN: { status: 403, retryable: false, message: 'Not allowed' },
  NOT_FOUND: { status: 404, retryable: false, message: 'Not found' },
  CONFLICT: { status: 409, retryable: false, message: 'Conflict' },
  TENANT_REQUIRED: {
    status: 409,
    retryable: false,
    message: 'Several accounts match; name the tenant (its slug) to log in',
  },
  INVALID_STATE: { status: 409, retryable: false, message: 'Operation not allowed in the current state' },
  NO_FRAME: {
    status: 409,
    retryable: true,
    message: 'The camera has no live frame and no uploaded screenshot',
  },
  RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests' },
  // Stream-side rejections (dead-lettered, never HTTP).
  UNKNOWN_EQUIPMENT: { status: 404, retryable: false, message: 'Unknown equipment' },
  UNKNOWN_CAMERA: { status: 404, retryable: false, message: 'Unknown camera' },
  BAD_SUBJECT: { status: 400, retryable: false, message: 'Subject does not match the expected shape' },
  // 5xx: ours. Messages are generic on purpose: details go to the log, never to the client.
  DEPENDENCY_UNAVAILABLE: { status: 503, retryable: true, message: 'A dependency is unavailable' },
  INTERNAL: { status: 500, retryable: true, message: 'Internal error' },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class VigilError extends Error {
  override readonly name = 'VigilError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, opts: { details?: unknown; cause?: unknown } = {}) {
    super(message ?? ERRORS[code].message, { cause: opts.cause });
    this.code = code;
    this.status = ERRORS[code].status;
    this.retryable = ERRORS[code].retryable;
    this.details = opts.details;
  }
}

export function isVigilError(err: unknown): err is VigilError {
  return err instanceof VigilError;
}
