import { describe, expect, it } from 'vitest'
import { attemptFor, bodyFor, reconcile } from '@/counter/attempt'

const preview = [
  { sku_id: 1, qty: 3, picked_up_qty: 0, remaining: 3 },
  { sku_id: 2, qty: 1, picked_up_qty: 0, remaining: 1 },
]

describe('a verify retried after a lost answer', () => {
  const partial = bodyFor({ code: '123456789012' }, 'TH1', [{ sku_id: 1, qty: 2 }])
  const whole = bodyFor({ code: '123456789012' }, 'TH1', undefined)

  it('sends the code, the open order and the chosen items', () => {
    expect(partial).toEqual({ code: '123456789012', order_no: 'TH1', items: [{ sku_id: 1, qty: 2 }] })
    expect(whole).toEqual({ code: '123456789012', order_no: 'TH1' })
  })

  it('reuses the key for the same verify while it is unfinished', () => {
    const first = attemptFor(null, partial, 'TH1', preview)
    first.state = 'unknown'
    const again = attemptFor(first, bodyFor({ code: '123456789012' }, 'TH1', [{ sku_id: 1, qty: 2 }]), 'TH1', preview)
    expect(again).toBe(first)
    expect(again.key).toBe(first.key)
  })

  it('takes a new key for another choice, another order, another preview, or after it finished', () => {
    const first = attemptFor(null, partial, 'TH1', preview)
    first.state = 'unknown'
    expect(attemptFor(first, whole, 'TH1', preview).key).not.toBe(first.key)
    expect(attemptFor(first, { ...partial, order_no: 'TH2' }, 'TH2', preview).key).not.toBe(first.key)
    const moved = [{ sku_id: 1, qty: 3, picked_up_qty: 2, remaining: 1 }, preview[1]!]
    expect(attemptFor(first, partial, 'TH1', moved).key).not.toBe(first.key)
    first.state = 'done'
    expect(attemptFor(first, partial, 'TH1', preview).key).not.toBe(first.key)
  })

  it('finds a partial hand-over applied when exactly its quantities are gone', () => {
    const attempt = attemptFor(null, partial, 'TH1', preview)
    const after = [{ sku_id: 1, qty: 3, picked_up_qty: 2, remaining: 1 }, { sku_id: 2, qty: 1, picked_up_qty: 0, remaining: 1 }]
    expect(reconcile(attempt, after)).toBe('applied')
  })

  it('sends again only when nothing changed', () => {
    const attempt = attemptFor(null, partial, 'TH1', preview)
    expect(reconcile(attempt, preview)).toBe('not_applied')
  })

  it('stops when someone else changed the order', () => {
    const attempt = attemptFor(null, partial, 'TH1', preview)
    const other = [{ sku_id: 1, qty: 3, picked_up_qty: 0, remaining: 3 }, { sku_id: 2, qty: 1, picked_up_qty: 1, remaining: 0 }]
    expect(reconcile(attempt, other)).toBe('changed')
  })

  it('reads already_picked_up as applied only for a verify of everything left', () => {
    expect(reconcile(attemptFor(null, whole, 'TH1', preview), null, true)).toBe('applied')
    expect(reconcile(attemptFor(null, partial, 'TH1', preview), null, true)).toBe('changed')
  })
})
