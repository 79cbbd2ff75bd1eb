// The API's one error shape: {"error": {"code", "message", "details"}}.

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> | null }
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: Record<string, unknown>

  constructor(status: number, code: string, message: string, details?: Record<string, unknown> | null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details ?? {}
  }
}

/** No answer at all (offline, connection dropped, timeout): the outcome is unknown. */
export class NetworkError extends Error {
  constructor(cause?: unknown) {
    super('network error', { cause })
    this.name = 'NetworkError'
  }
}

export function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as ErrorBody | null)?.error
  return typeof error === 'object' && error !== null && typeof error.code === 'string'
}

/** The ApiError for a refused answer (any body: a proxy's HTML page is a `http_<status>`). */
export function toApiError(status: number, body: unknown): ApiError {
  if (isErrorBody(body)) {
    return new ApiError(status, body.error.code, body.error.message ?? '', body.error.details)
  }
  return new ApiError(status, `http_${status}`, `HTTP ${status}`)
}

/** Retry-After of a 429, in seconds (details.retry_after_s), if the server said. */
export function retryAfterSeconds(error: ApiError): number | null {
  const value = error.details.retry_after_s
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.ceil(value)) : null
}
