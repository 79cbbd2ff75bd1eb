import { describe, expect, it } from 'vitest'
import { listQuery, parseSearch, rangeProblem } from '@/orders/search'

describe('the orders search box', () => {
  it('reads 4 digits as a phone tail, a phone as a phone, the rest as an order number', () => {
    expect(parseSearch(' 5678 ')).toEqual({ kind: 'tail', value: '5678' })
    expect(parseSearch('138 1234 5678')).toEqual({ kind: 'phone', value: '13812345678' })
    expect(parseSearch('+86 138-1234-5678')).toEqual({ kind: 'phone', value: '13812345678' })
    expect(parseSearch('8613812345678')).toEqual({ kind: 'phone', value: '13812345678' })
    expect(parseSearch('+85261234567')).toEqual({ kind: 'phone', value: '+85261234567' })
    expect(parseSearch('th2612070930123')).toEqual({ kind: 'order_no', value: 'TH2612070930123' })
  })

  it('refuses digits that are neither, and says when there is nothing', () => {
    for (const bad of ['12345', '1234567890', '23812345678', '+', '123']) {
      expect(parseSearch(bad), bad).toEqual({ kind: 'invalid' })
    }
    expect(parseSearch('   ')).toEqual({ kind: 'empty' })
    expect(parseSearch('T'.repeat(65))).toEqual({ kind: 'invalid' })
  })
})

describe('the date range', () => {
  it('takes both days included, at most 366 of them', () => {
    expect(rangeProblem(null, null)).toBeNull()
    expect(rangeProblem('2026-03-01', null)).toBeNull()
    expect(rangeProblem('2026-03-01', '2026-03-01')).toBeNull()
    expect(rangeProblem('2025-01-01', '2026-01-01')).toBeNull() // 366 days
    expect(rangeProblem('2025-01-01', '2026-01-02')).toBe('tooLong')
    expect(rangeProblem('2026-03-02', '2026-03-01')).toBe('order')
    expect(rangeProblem('2026-02-30', '2026-03-01')).toBe('invalid')
    expect(rangeProblem('yesterday', null)).toBe('invalid')
  })
})

describe('the list query', () => {
  it('sends only what is set', () => {
    expect(listQuery({ storeId: null, status: '', fulfillment: '', from: null, to: null, search: { kind: 'empty' } })).toEqual({})
    expect(listQuery({
      storeId: 3, status: 'paid', fulfillment: 'delivery', from: '2026-03-01', to: '2026-03-02',
      search: { kind: 'tail', value: '5678' },
    })).toEqual({
      store_id: 3, status: 'paid', fulfillment: 'delivery', created_from: '2026-03-01', created_to: '2026-03-02', q: '5678',
    })
    expect(listQuery({ storeId: null, status: '', fulfillment: '', from: '2026-03-01', to: null, search: { kind: 'invalid' } }))
      .toEqual({ created_from: '2026-03-01' })
  })
})
