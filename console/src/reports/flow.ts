// The flow report (GET /api/admin/reports/flow): time in each step and the funnel, shaped
// for the charts. Pure functions beside the fetch, unit-tested without a browser.
import { api, unwrap } from '@/api/client'
import type { components } from '@/api/schema'

export type FlowReport = components['schemas']['FlowReport']
export type Step = components['schemas']['ReportStep']

export const STEPS = ['pay', 'ready', 'pickup', 'ship', 'deliver'] as const
export const FUNNEL_STAGES = ['placed', 'paid', 'prepared', 'collected', 'kept'] as const
export const LOSSES = ['lost_unpaid', 'lost_expired', 'lost_refunded'] as const

export async function fetchFlow(query: { from?: string; to?: string; storeId: number | null }): Promise<FlowReport> {
  return unwrap(api.GET('/api/admin/reports/flow', {
    params: {
      query: {
        ...(query.from ? { from: query.from } : {}),
        ...(query.to ? { to: query.to } : {}),
        ...(query.storeId ? { store_id: query.storeId } : {}),
      },
    },
  }))
}

/** Seconds for people: 45 → "<1 分钟" style handled by the caller's words; here
 * { d, h, m } parts, rounded down to the minute. */
export function durationParts(seconds: number): { d: number; h: number; m: number } {
  const minutes = Math.floor(Math.max(0, seconds) / 60)
  return { d: Math.floor(minutes / 1440), h: Math.floor((minutes % 1440) / 60), m: minutes % 60 }
}

/** The heat map: stores (rows) × steps (columns), each cell the store's p90 in minutes
 * (null where the step had no sample), and which cells are bottlenecks. */
export function heatmap(report: FlowReport): { stores: number[]; cells: [number, number, number | null][]; flagged: Set<string> } {
  const stores = [...new Set((report.steps ?? []).flatMap((s) => (s.by_store ?? []).map((r) => r.store_id ?? 0)))].sort((a, b) => a - b)
  const cells: [number, number, number | null][] = []
  const flagged = new Set<string>()
  STEPS.forEach((name, x) => {
    const step = (report.steps ?? []).find((s) => s.step === name)
    stores.forEach((storeId, y) => {
      const row = step?.by_store?.find((r) => r.store_id === storeId)
      const p90 = row?.p90_s
      cells.push([x, y, typeof p90 === 'number' ? Math.round(p90 / 60) : null])
      if (row?.bottleneck) flagged.add(`${storeId}:${name}`)
    })
  })
  return { stores, cells, flagged }
}

/** The funnel's stages in order with their counts, and each stage as a share of placed. */
export function funnelStages(report: FlowReport): { stage: string; count: number; share: number | null }[] {
  const totals = (report.funnel?.totals ?? {}) as Record<string, number | undefined>
  const placed = totals.placed ?? 0
  return FUNNEL_STAGES.map((stage) => {
    const count = totals[stage] ?? 0
    return { stage, count, share: placed ? Math.round((count / placed) * 1000) / 10 : null }
  })
}

export type ProductsReport = components['schemas']['ProductsReport']
export const PRODUCT_SORTS = ['units', 'gmv_fen', 'refund_rate', 'closed_s'] as const
export type ProductSort = (typeof PRODUCT_SORTS)[number]

export async function fetchProducts(query: { from?: string; to?: string; storeId: number | null; sort: ProductSort }): Promise<ProductsReport> {
  return unwrap(api.GET('/api/admin/reports/products', {
    params: {
      query: {
        sort: query.sort, limit: 50,
        ...(query.from ? { from: query.from } : {}),
        ...(query.to ? { to: query.to } : {}),
        ...(query.storeId ? { store_id: query.storeId } : {}),
      },
    },
  }))
}

/** "12.5%" from a per-mille rate. */
export function perMille(rate: number | undefined): string {
  const r = rate ?? 0
  return `${Math.floor(r / 10)}.${r % 10}%`
}

export type CustomersReport = components['schemas']['CustomersReport']
export const SEGMENTS = ['champions', 'loyal', 'new', 'regular', 'at_risk', 'dormant'] as const

export async function fetchCustomers(storeId: number | null): Promise<CustomersReport> {
  return unwrap(api.GET('/api/admin/reports/customers', { params: { query: storeId ? { store_id: storeId } : {} } }))
}
