// A refusal or a lost answer as one line for a management page's alert; `area` is the
// page's message bundle, which has `failed` ({message}) and `network`.
import { ApiError, NetworkError } from './errors'

type T = (key: string, values?: Record<string, unknown>) => string

export function describeFailure(error: unknown, t: T, area: string): string {
  if (error instanceof ApiError) return t(`${area}.failed`, { message: error.message || error.code })
  if (error instanceof NetworkError) return t(`${area}.network`)
  throw error
}
