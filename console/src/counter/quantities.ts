// Choosing what to hand over at the counter (partial pickup).
//
// The preview lists order lines (one SKU may be on several lines); the verify body
// names SKUs: {sku_id, qty}. Everything left chosen → no `items` at all (the server hands
// over everything left — and a repeat of that is a clean 409 already_picked_up).

export interface PreviewLine {
  sku_id?: number
  name?: string
  spec?: string
  qty?: number
  picked_up_qty?: number
  remaining?: number
}

export interface SkuRow {
  sku_id: number
  name: string
  spec: string
  ordered: number
  picked: number
  left: number
}

export type Selection = Record<number, number>

/** One row per SKU, in the preview's order. */
export function skuRows(lines: readonly PreviewLine[]): SkuRow[] {
  const rows = new Map<number, SkuRow>()
  for (const line of lines) {
    if (line.sku_id == null) continue
    const row = rows.get(line.sku_id) ?? {
      sku_id: line.sku_id, name: line.name ?? '', spec: line.spec ?? '', ordered: 0, picked: 0, left: 0,
    }
    row.ordered += line.qty ?? 0
    row.picked += line.picked_up_qty ?? 0
    row.left += line.remaining ?? Math.max(0, (line.qty ?? 0) - (line.picked_up_qty ?? 0))
    rows.set(line.sku_id, row)
  }
  return [...rows.values()]
}

/** Everything left, chosen. */
export function chooseAll(rows: readonly SkuRow[]): Selection {
  return Object.fromEntries(rows.map((r) => [r.sku_id, r.left]))
}

/** Set one SKU's quantity, kept within 0…left (whole numbers). */
export function setQty(selection: Selection, rows: readonly SkuRow[], skuId: number, qty: number): Selection {
  const row = rows.find((r) => r.sku_id === skuId)
  if (!row) return selection
  const value = Number.isFinite(qty) ? Math.min(row.left, Math.max(0, Math.trunc(qty))) : 0
  return { ...selection, [skuId]: value }
}

export function chosenCount(selection: Selection): number {
  return Object.values(selection).reduce((sum, n) => sum + n, 0)
}

export function leftCount(rows: readonly SkuRow[]): number {
  return rows.reduce((sum, r) => sum + r.left, 0)
}

export function isEverything(selection: Selection, rows: readonly SkuRow[]): boolean {
  return rows.every((r) => (selection[r.sku_id] ?? 0) === r.left)
}

/** The verify body's `items`: undefined for everything left, else the chosen SKUs
 * (qty > 0), or null when nothing is chosen (nothing to send). */
export function itemsToVerify(selection: Selection, rows: readonly SkuRow[]):
  { sku_id: number; qty: number }[] | undefined | null {
  if (isEverything(selection, rows)) return leftCount(rows) > 0 ? undefined : null
  const items = rows
    .map((r) => ({ sku_id: r.sku_id, qty: Math.min(r.left, selection[r.sku_id] ?? 0) }))
    .filter((i) => i.qty > 0)
  return items.length ? items : null
}
