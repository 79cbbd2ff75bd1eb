import { describe, expect, it } from 'vitest'
import stockTexts from '@/i18n/stock'
import { appendPage, decisionBody, KINDS, kindKey, signed } from '@/stock/decisions'

describe('a replenishment request decided', () => {
  it('accepts with the suggestion, or with a quantity typed', () => {
    expect(decisionBody('accept', '')).toEqual({ qty: null })
    expect(decisionBody('accept', ' 120 ')).toEqual({ qty: 120 })
    expect(decisionBody('accept', '10000000')).toEqual({ qty: 10_000_000 })
    for (const bad of ['0', '-3', '1.5', '12个', '10000001', '999999999']) {
      expect(decisionBody('accept', bad)).toEqual({ problem: 'badQty' })
    }
  })

  it('rejects only with a reason the API takes', () => {
    expect(decisionBody('reject', '', ' 已停产 ')).toEqual({ reason: '已停产' })
    expect(decisionBody('reject', '', '   ')).toEqual({ problem: 'reasonRequired' })
    expect(decisionBody('reject', '', 'x'.repeat(201))).toEqual({ problem: 'reasonTooLong' })
    expect(decisionBody('reject', '', 'x'.repeat(200))).toEqual({ reason: 'x'.repeat(200) })
  })
})

describe('a row’s ledger', () => {
  it('names the kinds the models write, an adjustment with its reason', () => {
    expect(kindKey('restock')).toEqual({ kind: 'restock' })
    expect(kindKey('adjust:damaged')).toEqual({ kind: 'adjust', reason: 'damaged' })
    expect(kindKey('something_new')).toBeNull()
    expect(kindKey(undefined)).toBeNull()
    for (const locale of ['zh-CN', 'en'] as const) {
      const kinds = stockTexts[locale].stock.kinds as Record<string, string>
      for (const kind of [...KINDS, 'adjust']) expect(kinds[kind], `${locale} ${kind}`).toBeTruthy()
    }
  })

  it('signs the deltas', () => {
    expect([signed(5), signed(-3), signed(0), signed(undefined)]).toEqual(['+5', '−3', '0', '—'])
  })

  it('appends a page without showing a row twice', () => {
    const shown = [{ id: 9 }, { id: 8 }]
    expect(appendPage(shown, [{ id: 8 }, { id: 7 }, { id: 6 }])).toEqual([{ id: 9 }, { id: 8 }, { id: 7 }, { id: 6 }])
    expect(appendPage([], [{ id: 3 }])).toEqual([{ id: 3 }])
  })
})
