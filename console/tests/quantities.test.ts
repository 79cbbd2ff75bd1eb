import { describe, expect, it } from 'vitest'
import { chooseAll, chosenCount, isEverything, itemsToVerify, setQty, skuRows } from '@/counter/quantities'

const preview = [
  { sku_id: 1, name: '大米', spec: '5kg', qty: 3, picked_up_qty: 1, remaining: 2 },
  { sku_id: 2, name: '油', spec: '1L', qty: 1, picked_up_qty: 0, remaining: 1 },
  { sku_id: 1, name: '大米', spec: '5kg', qty: 2, picked_up_qty: 0, remaining: 2 }, // same SKU, second line
  { sku_id: 3, name: '盐', spec: '', qty: 1, picked_up_qty: 1, remaining: 0 },
]

describe('choosing quantities at the counter', () => {
  const rows = skuRows(preview)

  it('adds up one SKU on several lines', () => {
    expect(rows.map((r) => [r.sku_id, r.ordered, r.picked, r.left])).toEqual([[1, 5, 1, 4], [2, 1, 0, 1], [3, 1, 1, 0]])
  })

  it('starts with everything left chosen, and sends no items for it (the whole order)', () => {
    const all = chooseAll(rows)
    expect(all).toEqual({ 1: 4, 2: 1, 3: 0 })
    expect(chosenCount(all)).toBe(5)
    expect(isEverything(all, rows)).toBe(true)
    expect(itemsToVerify(all, rows)).toBeUndefined()
  })

  it('keeps a quantity within 0 and what is left', () => {
    let sel = chooseAll(rows)
    sel = setQty(sel, rows, 1, 9)
    expect(sel[1]).toBe(4)
    sel = setQty(sel, rows, 1, -2)
    expect(sel[1]).toBe(0)
    sel = setQty(sel, rows, 2, 0.7)
    expect(sel[2]).toBe(0)
    expect(setQty(sel, rows, 99, 1)).toBe(sel) // not in the order: unchanged
  })

  it('names only the chosen SKUs for a partial pickup', () => {
    let sel = chooseAll(rows)
    sel = setQty(sel, rows, 1, 2)
    sel = setQty(sel, rows, 2, 0)
    expect(isEverything(sel, rows)).toBe(false)
    expect(itemsToVerify(sel, rows)).toEqual([{ sku_id: 1, qty: 2 }])
  })

  it('has nothing to send when nothing is chosen or nothing is left', () => {
    const none = { 1: 0, 2: 0, 3: 0 }
    expect(itemsToVerify(none, rows)).toBeNull()
    const finished = skuRows([{ sku_id: 1, qty: 1, picked_up_qty: 1, remaining: 0 }])
    expect(itemsToVerify(chooseAll(finished), finished)).toBeNull()
  })
})
