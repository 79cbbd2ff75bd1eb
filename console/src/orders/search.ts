// The orders page's search box and date range, read the way the API reads them
// (models/orders/search.py): 4 digits are a phone's last 4 ("尾号"), an 11-digit number
// from 1 (optionally +86) or + and a foreign number is a whole phone, anything else an
// order number. Other runs of digits are no order number (those start with TH) and no
// phone: refused here, before a request, with the same words the API would use.
import type { paths } from '@/api/schema'

export type Search =
  | { kind: 'order_no'; value: string }
  | { kind: 'phone'; value: string }
  | { kind: 'tail'; value: string }
  | { kind: 'invalid' }
  | { kind: 'empty' }

const SEPARATORS = /[\s-]/g

export function parseSearch(text: string): Search {
  const compact = text.trim().replace(SEPARATORS, '')
  if (!compact) return { kind: 'empty' }
  if (/^\d{4}$/.test(compact)) return { kind: 'tail', value: compact }
  const mainland = /^(?:\+?86)?(1\d{10})$/.exec(compact)
  if (mainland) return { kind: 'phone', value: mainland[1]! }
  if (/^\+\d{6,20}$/.test(compact)) return { kind: 'phone', value: compact }
  const digits = compact.replace(/^\+/, '')
  if (!digits || /^\d+$/.test(digits) || compact.length > 64) return { kind: 'invalid' }
  return { kind: 'order_no', value: compact.toUpperCase() }
}

export const MAX_RANGE_DAYS = 366

/** 'YYYY-MM-DD' → days since 1970-01-01, or null for anything else (no time zone involved:
 * these are calendar days, Asia/Shanghai's for the API). */
function dayNumber(day: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (!m) return null
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  const back = new Date(ms)
  if (back.getUTCMonth() !== Number(m[2]) - 1 || back.getUTCDate() !== Number(m[3])) return null
  return ms / 86_400_000
}

/** What is wrong with a range of days (both included), as the API would refuse it:
 * 'order' (from after to), 'tooLong' (over MAX_RANGE_DAYS), 'invalid', or null. */
export function rangeProblem(from: string | null, to: string | null): 'order' | 'tooLong' | 'invalid' | null {
  const a = from ? dayNumber(from) : null
  const b = to ? dayNumber(to) : null
  if ((from && a === null) || (to && b === null)) return 'invalid'
  if (a === null || b === null) return null
  if (a > b) return 'order'
  if (b - a + 1 > MAX_RANGE_DAYS) return 'tooLong'
  return null
}

type ListQuery = NonNullable<paths['/api/staff/orders']['get']['parameters']['query']>
export type Status = NonNullable<ListQuery['status']>
export type Fulfillment = NonNullable<ListQuery['fulfillment']>

export interface ListFilters {
  storeId: number | null
  status: Status | ''
  fulfillment: Fulfillment | ''
  from: string | null // days (YYYY-MM-DD), both included, as the date pickers give them
  to: string | null
  search: Search
}

/** GET /api/staff/orders's query for these filters: only what is set. */
export function listQuery(f: ListFilters): ListQuery {
  const query: ListQuery = {}
  if (f.storeId != null) query.store_id = f.storeId
  if (f.status) query.status = f.status
  if (f.fulfillment) query.fulfillment = f.fulfillment
  if (f.from) query.created_from = f.from
  if (f.to) query.created_to = f.to
  if (f.search.kind === 'order_no' || f.search.kind === 'phone' || f.search.kind === 'tail') query.q = f.search.value
  return query
}
