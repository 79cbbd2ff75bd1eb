// The clerk's words for a refused preview/verify: the codes the server answers
// (handlers/staff_pickups.py REFUSALS) mapped to this UI's own texts.
import { ApiError, NetworkError, retryAfterSeconds } from '@/api/errors'
import { formatTime, formatWait, i18n } from '@/i18n'

export interface CounterProblem {
  code: string
  text: string
  tone: 'error' | 'warning'
}

export function describe(error: unknown, options: { mayReview: boolean }): CounterProblem {
  const t = i18n.global.t
  if (error instanceof NetworkError) return { code: 'network', text: t('pickupErrors.network'), tone: 'warning' }
  if (!(error instanceof ApiError)) throw error
  const d = error.details
  switch (error.code) {
    case 'pickup_code_invalid':
    case 'pickup_expired':
    case 'pickup_qr_stale':
    case 'pickup_scan_required':
    case 'pickup_items_invalid':
      return { code: error.code, text: t(`pickupErrors.${error.code}`), tone: 'error' }
    case 'pickup_locked':
      return { code: error.code, text: t(options.mayReview ? 'pickupErrors.pickup_locked' : 'pickupErrors.pickup_locked_clerk'), tone: 'error' }
    case 'already_picked_up': {
      const when = typeof d.picked_up_at === 'string' ? formatTime(d.picked_up_at) : null
      const who = typeof d.staff_name === 'string' ? d.staff_name : null
      return {
        code: error.code,
        text: when && who ? t('pickupErrors.already_picked_up', { when, who }) : t('pickupErrors.already_picked_up_plain'),
        tone: 'error',
      }
    }
    case 'pickup_not_ready': {
      const status = typeof d.status === 'string' ? d.status : ''
      const key = `counter.status.${status}`
      return { code: error.code, text: t('pickupErrors.pickup_not_ready', { status: i18n.global.te(key) ? t(key) : status }), tone: 'warning' }
    }
    case 'pickup_qty_exceeded':
      return { code: error.code, text: t('pickupErrors.pickup_qty_exceeded', { remaining: String(d.remaining ?? '?') }), tone: 'error' }
    case 'rate_limited': {
      const wait = retryAfterSeconds(error)
      return {
        code: error.code,
        text: wait ? t('pickupErrors.rate_limited', { wait: formatWait(wait) }) : t('pickupErrors.rate_limited_plain'),
        tone: 'warning',
      }
    }
    case 'forbidden':
      return typeof d.store_id === 'number'
        ? { code: 'forbidden_store', text: t('pickupErrors.forbidden_store', { store: d.store_id }), tone: 'error' }
        : { code: error.code, text: t('pickupErrors.forbidden'), tone: 'error' }
    default:
      return { code: error.code, text: t('pickupErrors.other', { message: error.message || error.code }), tone: 'error' }
  }
}
