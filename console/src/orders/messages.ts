// The orders pages' texts merged into i18n when their chunk loads, and the refusals the
// API answers mapped to precise texts (the server's own message otherwise).
import { ApiError, NetworkError } from '@/api/errors'
import { i18n } from '@/i18n'
import messages from '@/i18n/orders'
import { addMessages } from '@/i18n/pages'
import { formatFen } from '@/money'

let merged = false
export function installOrderMessages(): void {
  if (merged) return
  merged = true
  addMessages(messages)
}
installOrderMessages()

export function statusText(status: string | null | undefined): string {
  const key = `orders.status.${status ?? ''}`
  return i18n.global.te(key) ? i18n.global.t(key) : (status ?? '—')
}

/** The words for a refused (or unanswered) order or pickup action. */
export function describeError(error: unknown): string {
  const t = i18n.global.t
  if (error instanceof NetworkError) return t('orders.errors.network')
  if (!(error instanceof ApiError)) throw error
  const d = error.details
  switch (error.code) {
    case 'invalid_transition':
      return typeof d.status === 'string'
        ? t('orders.errors.invalid_transition', { status: statusText(d.status) })
        : t('orders.errors.invalid_transition_plain')
    case 'refund_exceeds_paid':
      return typeof d.refundable_fen === 'number'
        ? t('orders.errors.refund_exceeds_paid', { left: formatFen(d.refundable_fen) })
        : t('orders.errors.refund_exceeds_paid_plain')
    case 'forbidden':
      return typeof d.store_id === 'number'
        ? t('orders.errors.forbidden_store', { store: d.store_id })
        : t('orders.errors.forbidden')
    case 'invalid_request':
      return t('orders.errors.invalid_request', { message: error.message || error.code })
    case 'payment_started':
    case 'idempotency_key_reused':
    case 'conflict':
    case 'not_found':
    case 'pickup_not_locked':
    case 'pickup_expired':
    case 'already_picked_up':
    case 'pickup_not_ready':
    case 'pickup_deadline_invalid':
      return t(`orders.errors.${error.code}`)
    default:
      return t('orders.errors.other', { message: error.message || error.code })
  }
}
