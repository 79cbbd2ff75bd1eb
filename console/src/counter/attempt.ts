// A verify (核销) that can be retried without handing over twice.
//
// Every verify is an Attempt with a key, the exact body, and the preview it was chosen
// from; a retry of the same verify reuses the attempt and its key, sent as
// Idempotency-Key: the server answers a key once and gives the same answer again to a
// resend, never a second hand-over (models/pickup/replay.py). The console still checks
// before resending after a lost answer — the order is previewed again (which changes
// nothing) and compared with the attempt: handed over already → done; unchanged → send
// the same request again; anything else → someone else changed it, the clerk looks again
// — so a clerk never resends blindly into an order another till has moved on.
import type { Presented } from './presented'
import type { PreviewLine } from './quantities'
import { skuRows } from './quantities'
import { randomId } from '@/random'

export interface VerifyBody {
  code?: string
  qr_payload?: string
  order_no?: string
  items?: { sku_id: number; qty: number }[]
}

export interface Attempt {
  key: string
  body: VerifyBody
  orderNo: string
  before: Record<number, number> // what was left per SKU when it was chosen
  state: 'new' | 'sending' | 'unknown' | 'done'
}

function leftBySku(lines: readonly PreviewLine[]): Record<number, number> {
  return Object.fromEntries(skuRows(lines).map((r) => [r.sku_id, r.left]))
}

export function newKey(): string {
  return `verify-${randomId()}`
}

export function bodyFor(presented: Presented, orderNo: string, items: VerifyBody['items']): VerifyBody {
  return { ...presented, order_no: orderNo, ...(items ? { items } : {}) }
}

function sameBody(a: VerifyBody, b: VerifyBody): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

function canonical(body: VerifyBody) {
  return {
    code: body.code ?? null,
    qr_payload: body.qr_payload ?? null,
    order_no: body.order_no ?? null,
    items: body.items ? [...body.items].sort((x, y) => x.sku_id - y.sku_id) : null,
  }
}

/** The attempt for this verify: the unfinished one when it is the same verify (same
 * body, chosen from the same preview), so its key is reused; a new one otherwise. */
export function attemptFor(previous: Attempt | null, body: VerifyBody, orderNo: string,
  preview: readonly PreviewLine[]): Attempt {
  const before = leftBySku(preview)
  if (previous && previous.state !== 'done' && previous.orderNo === orderNo && sameBody(previous.body, body)
    && JSON.stringify(previous.before) === JSON.stringify(before)) {
    return previous
  }
  return { key: newKey(), body, orderNo, before, state: 'new' }
}

/** What is handed over by the attempt, per SKU (everything left when it names no items). */
export function wanted(attempt: Attempt): Record<number, number> {
  if (!attempt.body.items) return { ...attempt.before }
  return Object.fromEntries(attempt.body.items.map((i) => [i.sku_id, i.qty]))
}

export type Outcome = 'applied' | 'not_applied' | 'changed'

/** After a lost answer: compare a fresh preview with the attempt. `finished` is true when
 * the fresh look found nothing left to hand over (409 already_picked_up). */
export function reconcile(attempt: Attempt, fresh: readonly PreviewLine[] | null, finished = false): Outcome {
  const want = wanted(attempt)
  if (finished || fresh === null) {
    // Nothing left at all: applied when this attempt was to take everything left.
    return Object.entries(attempt.before).every(([sku, left]) => (want[Number(sku)] ?? 0) === left)
      ? 'applied' : 'changed'
  }
  const now = leftBySku(fresh)
  const skus = new Set([...Object.keys(attempt.before), ...Object.keys(now)].map(Number))
  const unchanged = [...skus].every((sku) => (now[sku] ?? 0) === (attempt.before[sku] ?? 0))
  if (unchanged) return 'not_applied'
  const applied = [...skus].every((sku) => (now[sku] ?? 0) === (attempt.before[sku] ?? 0) - (want[sku] ?? 0))
  return applied ? 'applied' : 'changed'
}
