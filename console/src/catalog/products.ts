// Products and their SKUs (GET /api/admin/products, catalog.read), every page of them, for
// naming SKUs in the stock and card pages and choosing one.
import { ref } from 'vue'
import { api, unwrap } from '@/api/client'
import type { components } from '@/api/schema'

export type AdminProduct = components['schemas']['AdminProduct']
export type AdminSku = components['schemas']['AdminSku']

export interface SkuChoice {
  id: number
  label: string // "大米 · 5kg"
  productId: number
  onShelf: boolean
  priceFen: number
}

export const products = ref<AdminProduct[]>([])

export async function loadProducts(): Promise<AdminProduct[]> {
  const all: AdminProduct[] = []
  let cursor: string | null = null
  for (let page = 0; page < 50; page++) { // 5,000 products at most: enough for a store chain
    const data: components['schemas']['AdminProductList'] = await unwrap(
      api.GET('/api/admin/products', { params: { query: { cursor, limit: 100 } } }))
    all.push(...(data.items ?? []))
    cursor = data.next_cursor ?? null
    if (!cursor) break
  }
  products.value = all
  return all
}

export function skuChoices(list: AdminProduct[]): SkuChoice[] {
  return list.flatMap((p) => (p.skus ?? []).map((s) => ({
    id: s.id ?? 0,
    label: `${p.name ?? ''} · ${s.spec ?? ''}`,
    productId: p.id ?? 0,
    onShelf: (p.on_shelf ?? true) && (s.on_shelf ?? true),
    priceFen: s.price_fen ?? 0,
  })))
}
