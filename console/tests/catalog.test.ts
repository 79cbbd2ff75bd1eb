import { describe, expect, it } from 'vitest'
import { describeComponents, limitParts, readComponents, readLimit } from '@/catalog/bundles'

describe('purchase limits', () => {
  it('reads empty as none and 1–9999 as a limit', () => {
    expect(readLimit('')).toBeNull()
    expect(readLimit('  ')).toBeNull()
    expect(readLimit(' 2 ')).toBe(2)
    expect(readLimit('9999')).toBe(9999)
    for (const bad of ['0', '10000', '-1', '1.5', 'two']) expect(readLimit(bad)).toBeUndefined()
  })

  it('shows only the limits that are set', () => {
    expect(limitParts({ limit_per_order: 2, limit_per_user: null })).toEqual({ perOrder: 2 })
    expect(limitParts({})).toEqual({})
    expect(limitParts({ limit_per_order: 1, limit_per_user: 5 })).toEqual({ perOrder: 1, perUser: 5 })
  })
})

describe('a bundle’s components', () => {
  const plain = new Set([1, 2, 3])

  it('become the body the API takes', () => {
    expect(readComponents([{ skuId: 1, qty: '4' }, { skuId: 2, qty: ' 1 ' }], plain))
      .toEqual({ components: [{ sku_id: 1, qty: 4 }, { sku_id: 2, qty: 1 }] })
  })

  it('say what the API would refuse', () => {
    expect(readComponents([], plain)).toEqual({ problem: 'componentsNone' })
    expect(readComponents(Array.from({ length: 21 }, (_, i) => ({ skuId: i, qty: '1' })), plain)).toEqual({ problem: 'componentsTooMany' })
    expect(readComponents([{ skuId: null, qty: '1' }], plain)).toEqual({ problem: 'componentSku' })
    expect(readComponents([{ skuId: 9, qty: '1' }], plain)).toEqual({ problem: 'componentSku' }) // a bundle, or unknown
    expect(readComponents([{ skuId: 1, qty: '1' }, { skuId: 1, qty: '2' }], plain)).toEqual({ problem: 'componentTwice' })
    for (const qty of ['0', '1000', '', 'x', '1.5']) expect(readComponents([{ skuId: 1, qty }], plain)).toEqual({ problem: 'componentQty' })
  })

  it('are described by name', () => {
    const names = new Map([[1, '大闸蟹 · 公蟹'], [2, '香醋 · 250ml']])
    expect(describeComponents([{ sku_id: 1, qty: 4 }, { sku_id: 2, qty: 1 }], (id) => names.get(id) ?? `SKU ${id}`))
      .toBe('大闸蟹 · 公蟹 ×4, 香醋 · 250ml ×1')
    expect(describeComponents(undefined, String)).toBe('')
  })
})
