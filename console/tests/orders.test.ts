import { describe, expect, it } from 'vitest'
import { ApiError, NetworkError } from '@/api/errors'
import { i18n } from '@/i18n'
import messages from '@/i18n/orders'
import { fenToYuanText, formatFen, parseYuan } from '@/money'
import { describeError } from '@/orders/messages'
import { RefundDraft } from '@/orders/refund'

describe('fen and yuan', () => {
  it('formats integer fen as yuan with two decimals', () => {
    expect(formatFen(1280)).toBe('¥12.80')
    expect(formatFen(5)).toBe('¥0.05')
    expect(formatFen(0)).toBe('¥0.00')
    expect(formatFen(100)).toBe('¥1.00')
    expect(formatFen(123456789)).toBe('¥1,234,567.89')
    expect(formatFen(-5)).toBe('-¥0.05')
    expect(formatFen(null)).toBe('—')
    expect(formatFen(12.5)).toBe('—') // never a fraction of a fen
  })

  it('parses yuan to fen exactly, without floats', () => {
    expect(parseYuan('12.8')).toBe(1280)
    expect(parseYuan('12.80')).toBe(1280)
    expect(parseYuan('¥12')).toBe(1200)
    expect(parseYuan(' 0.01 ')).toBe(1)
    expect(parseYuan('1,234.5')).toBe(123450)
    expect(parseYuan('12.')).toBe(1200)
    // The classic float traps: 0.1 + 0.2, 1.005 * 100, 4.35 * 100 = 434.99999999999994
    expect(parseYuan('0.3')).toBe(30)
    expect(parseYuan('4.35')).toBe(435)
    expect(parseYuan('1.15')).toBe(115)
    expect(parseYuan('19.99')).toBe(1999)
  })

  it('refuses what is not an amount', () => {
    for (const bad of ['', ' ', 'abc', '-1', '1.005', '1e3', '12.3.4', '1 2']) {
      expect(parseYuan(bad), bad).toBeNull()
    }
  })

  it('round-trips every fen of the first hundred yuan', () => {
    for (let fen = 0; fen <= 10000; fen += 1) expect(parseYuan(fenToYuanText(fen))).toBe(fen)
  })
})

describe('the refund dialog key', () => {
  const keys = () => {
    let n = 0
    return () => `k${++n}`
  }

  it('is made once per dialog and reused by a retried click', () => {
    const draft = new RefundDraft(keys())
    const body = { amount_fen: 5600, reason: '少一盒' }
    expect(draft.keyFor(body)).toBe('k1')
    expect(draft.busy).toBe(true)
    draft.outcome = 'unknown'
    expect(draft.keyFor({ ...body })).toBe('k1')
    draft.outcome = 'refused'
    expect(draft.keyFor({ ...body })).toBe('k1')
  })

  it('keeps the key after an unknown outcome even when the body changes (the server refuses, never refunds twice)', () => {
    const draft = new RefundDraft(keys())
    draft.keyFor({ amount_fen: 5600, reason: null })
    draft.outcome = 'unknown'
    expect(draft.keyFor({ amount_fen: 6000, reason: null })).toBe('k1')
  })

  it('takes a new key only when a refused request is changed', () => {
    const draft = new RefundDraft(keys())
    draft.keyFor({ amount_fen: 99999, reason: null })
    draft.outcome = 'refused' // e.g. refund_exceeds_paid: nothing was refunded
    expect(draft.keyFor({ amount_fen: 5600, reason: null })).toBe('k2')
  })

  it('differs between dialogs', () => {
    const make = keys()
    expect(new RefundDraft(make).key).not.toBe(new RefundDraft(make).key)
    expect(new RefundDraft().key).toMatch(/^[0-9a-f-]{16,}$/)
  })
})

describe('the orders texts', () => {
  const flat = (o: object, prefix = ''): string[] => Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' ? flat(v, `${prefix}${k}.`) : [`${prefix}${k}`])

  it('have the same keys in both languages', () => {
    expect(flat(messages.en).sort()).toEqual(flat(messages['zh-CN']).sort())
  })

  it('are merged when the pages load, and refusals read precisely', () => {
    i18n.global.locale.value = 'zh-CN'
    expect(describeError(new ApiError(409, 'refund_exceeds_paid', 'x', { refundable_fen: 20000 })))
      .toBe('退款金额超过可退金额（剩余可退 ¥200.00）。')
    expect(describeError(new ApiError(409, 'invalid_transition', 'x', { status: 'picked_up' })))
      .toContain('已提货')
    expect(describeError(new ApiError(422, 'idempotency_key_reused', 'x'))).toContain('不能修改金额')
    expect(describeError(new ApiError(403, 'forbidden', 'x', { store_id: 3 }))).toContain('门店 3')
    expect(describeError(new ApiError(418, 'teapot', '服务器的话'))).toBe('操作失败：服务器的话')
    expect(describeError(new NetworkError())).toContain('网络中断')
  })
})
