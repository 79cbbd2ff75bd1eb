// A refusal as one line for the growth page's alerts, with the fields at fault (the API's
// `details`: "tiers: tier 3: a coupon template open to the invitation channel").
import { ApiError, NetworkError } from '@/api/errors'

type T = (key: string, values?: Record<string, unknown>) => string

export function failure(e: unknown, t: T): string {
  if (e instanceof NetworkError) return t('growth.network')
  if (e instanceof ApiError) {
    const details = Object.entries(e.details ?? {}).map(([k, v]) => `${k}: ${String(v)}`).join('; ')
    return t('growth.failed', { message: (e.message || e.code) + (details ? ` (${details})` : '') })
  }
  throw e
}
