// The stock page's rules for what it sends, as the API checks them
// (handlers/admin_inventory.py): said at the form, so a typo is caught before sending;
// the server still decides.

export const REASON_MAX = 200 // a rejected replenishment request's reason
export const QTY_MAX = 10_000_000 // one operation (models/stock/admin.py MAX_QTY)

export type Decision = 'accept' | 'reject'

/** The body of an accept (optional quantity) or a reject (a reason), or the i18n key
 * (under stock.decide) of what is wrong. */
export function decisionBody(mode: 'accept', qty: string, reason?: string): { qty: number | null } | { problem: string }
export function decisionBody(mode: 'reject', qty: string, reason: string): { reason: string } | { problem: string }
export function decisionBody(mode: Decision, qty: string, reason = ''): { qty: number | null } | { reason: string } | { problem: string } {
  if (mode === 'reject') {
    const why = reason.trim()
    if (!why) return { problem: 'reasonRequired' }
    if (why.length > REASON_MAX) return { problem: 'reasonTooLong' }
    return { reason: why }
  }
  const text = qty.trim()
  if (!text) return { qty: null } // the suggestion stands
  if (!/^\d{1,8}$/.test(text)) return { problem: 'badQty' }
  const n = Number(text)
  return n >= 1 && n <= QTY_MAX ? { qty: n } : { problem: 'badQty' }
}

export interface LedgerRow {
  id?: number
  kind?: string
  delta_on_hand?: number
  delta_reserved?: number
}

/** A movement's kind as an i18n key under stock.kinds ("adjust:damaged" → adjust, with the
 * reason under stock.reasons), or null for a kind the console does not know (shown as is). */
export function kindKey(kind: string | undefined): { kind: string; reason?: string } | null {
  if (!kind) return null
  const [head, reason] = kind.split(':', 2)
  if (head === 'adjust' && reason) return { kind: 'adjust', reason }
  return KNOWN.has(kind) ? { kind } : null
}
// The reasons models/ writes: staff changes (models/stock/admin.py) and an order's holds
// (placed, cancelled or timed out unpaid, shipped, picked up, expired, refunded).
export const KINDS = ['count', 'restock', 'transfer_in', 'transfer_out', 'reserve', 'cancel', 'pay_timeout',
  'ship', 'pick_up', 'pickup_expired', 'refund'] as const
const KNOWN = new Set<string>(KINDS)

/** +5, −3 (a real minus sign), 0. */
export function signed(n: number | null | undefined): string {
  if (n == null) return '—'
  if (n > 0) return `+${n}`
  if (n < 0) return `−${-n}`
  return '0'
}

/** The next page appended to what is shown, without a row twice (a page asked for again
 * after a slow answer, or with a cursor from before). */
export function appendPage<T extends { id?: number }>(shown: T[], page: T[]): T[] {
  const seen = new Set(shown.map((r) => r.id))
  return [...shown, ...page.filter((r) => !seen.has(r.id))]
}
