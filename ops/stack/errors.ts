export type StackErrorCode =
  | 'CONFIG_INVALID'
  | 'INSTALL_REQUIRED'
  | 'COMMAND_FAILED'
  | 'PORT_IN_USE'
  | 'START_FAILED'
  | 'UNHEALTHY'
  | 'LOCK_TIMEOUT';

export class StackError extends Error {
  override readonly name = 'StackError';
  readonly code: StackErrorCode;
  /** Retrying the same call may succeed (a service still starting, a lock held). */
  readonly retryable: boolean;

  constructor(code: StackErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}
