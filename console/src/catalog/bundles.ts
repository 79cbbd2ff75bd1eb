// A SKU's purchase limits and a bundle's components (组合提货), read from the catalog
// page's inputs as the API checks them (handlers/admin_catalog.py): said at the form, so a
// typo is caught before sending; the server still decides.

export const LIMIT_MAX = 9999 // limit_per_order, limit_per_user
export const COMPONENT_QTY_MAX = 999
export const COMPONENTS_MAX = 20

/** A limit typed by a person: '' is no limit (null), a whole number 1–9999 is that
 * limit, anything else undefined (refused). */
export function readLimit(text: string): number | null | undefined {
  const s = text.trim()
  if (!s) return null
  if (!/^\d{1,4}$/.test(s)) return undefined
  const n = Number(s)
  return n >= 1 && n <= LIMIT_MAX ? n : undefined
}

export interface ComponentInput { skuId: number | null; qty: string }
export interface Component { sku_id: number; qty: number }

/** A bundle's components as the API takes them ([{sku_id, qty}]), or the i18n key (under
 * catalog.bad) of what is wrong: none, too many, a row without its SKU, a SKU twice, a
 * quantity outside 1–999. `plain` is the set of SKUs that may be components (not bundles). */
export function readComponents(rows: ComponentInput[], plain: Set<number>): { components: Component[] } | { problem: string } {
  if (!rows.length) return { problem: 'componentsNone' }
  if (rows.length > COMPONENTS_MAX) return { problem: 'componentsTooMany' }
  const seen = new Set<number>()
  const components: Component[] = []
  for (const row of rows) {
    if (row.skuId == null || !plain.has(row.skuId)) return { problem: 'componentSku' }
    if (seen.has(row.skuId)) return { problem: 'componentTwice' }
    seen.add(row.skuId)
    const qty = row.qty.trim()
    const n = /^\d{1,3}$/.test(qty) ? Number(qty) : 0
    if (n < 1 || n > COMPONENT_QTY_MAX) return { problem: 'componentQty' }
    components.push({ sku_id: row.skuId, qty: n })
  }
  return { components }
}

/** "大米 · 5kg ×4, 香醋 · 250ml ×1" for a bundle's components. */
export function describeComponents(components: { sku_id?: number; qty?: number }[] | undefined, label: (id: number) => string): string {
  return (components ?? []).map((c) => `${label(c.sku_id ?? 0)} ×${c.qty ?? 0}`).join(', ')
}

/** "每单 ≤ 2 · 每人 ≤ 5"-style summary parts: the limits that are set. */
export function limitParts(sku: { limit_per_order?: number | null; limit_per_user?: number | null }): { perOrder?: number; perUser?: number } {
  return {
    ...(sku.limit_per_order != null ? { perOrder: sku.limit_per_order } : {}),
    ...(sku.limit_per_user != null ? { perUser: sku.limit_per_user } : {}),
  }
}
