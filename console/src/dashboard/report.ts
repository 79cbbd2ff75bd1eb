// The dashboard's figures: GET /api/admin/reports/daily (rollups for past days, live for
// today; the server decides what "today" is, in Asia/Shanghai). Pure helpers beside the
// fetch so the shaping is unit-tested without a browser.
import { api, unwrap } from '@/api/client'
import type { components } from '@/api/schema'
import { fenToYuanNumber, formatFen } from '@/money'

export type DailyReport = components['schemas']['DailyReport']
export type Figures = components['schemas']['ReportFigures']
export type DayFigures = components['schemas']['ReportDayFigures']

/** The figures the dashboard shows, in order (keys of ReportFigures). */
export const KPIS = ['placed', 'paid', 'paid_fen', 'picked_up', 'refunded_fen', 'net_fen'] as const
export type Kpi = (typeof KPIS)[number]
export const MONEY: ReadonlySet<string> = new Set(['paid_fen', 'refunded_fen', 'net_fen', 'placed_fen', 'average_order_fen'])

export async function fetchDaily(query: { from?: string; to?: string; storeId: number | null }): Promise<DailyReport> {
  return unwrap(api.GET('/api/admin/reports/daily', {
    params: {
      query: {
        ...(query.from ? { from: query.from } : {}),
        ...(query.to ? { to: query.to } : {}),
        ...(query.storeId ? { store_id: query.storeId } : {}),
      },
    },
  }))
}

/** A figure, 0 when absent (the report leaves nothing out, but the types allow it). */
export function figure(f: Figures | undefined, name: string): number {
  const value = (f as Record<string, unknown> | undefined)?.[name]
  return typeof value === 'number' ? value : 0
}

/** Change against the previous period in whole percent: +12, -3; null when there was
 * nothing before (no honest percentage of zero). */
export function change(now: number, before: number): number | null {
  if (before === 0) return null
  return Math.round(((now - before) / Math.abs(before)) * 100)
}

/** The chart's series: one point per day of the range, days as "12-07". */
export function series(report: DailyReport): { days: string[]; gmvFen: number[]; paid: number[]; pickedUp: number[] } {
  const rows: DayFigures[] = report.by_day ?? []
  return {
    days: rows.map((r) => (r.day ?? '').slice(5)),
    gmvFen: rows.map((r) => figure(r, 'paid_fen')),
    paid: rows.map((r) => figure(r, 'paid')),
    pickedUp: rows.map((r) => figure(r, 'picked_up')),
  }
}

/** The trend chart's ECharts option: GMV as bars (yuan on the axis, exact in the
 * tooltip), paid and picked-up orders as lines. */
export function trendOption(s: ReturnType<typeof series>, labels: { gmv: string; paid: string; pickedUp: string }) {
  return {
    animation: false,
    grid: { left: 56, right: 40, top: 36, bottom: 28 },
    legend: { top: 0 },
    toolbox: { right: 0, feature: { saveAsImage: { title: '' } } },
    tooltip: {
      trigger: 'axis',
      formatter: (items: { seriesIndex: number; marker: string; seriesName: string; dataIndex: number }[]) => {
        const i = items[0]?.dataIndex ?? 0
        return [s.days[i], ...items.map((it) => `${it.marker}${it.seriesName}: ${
          it.seriesIndex === 0 ? formatFen(s.gmvFen[i]) : String(it.seriesIndex === 1 ? s.paid[i] : s.pickedUp[i])}`)].join('<br>')
      },
    },
    xAxis: { type: 'category', data: s.days },
    yAxis: [{ type: 'value', name: '¥' }, { type: 'value', minInterval: 1 }],
    series: [
      { name: labels.gmv, type: 'bar', data: s.gmvFen.map(fenToYuanNumber), itemStyle: { color: '#91cc75' } },
      { name: labels.paid, type: 'line', yAxisIndex: 1, data: s.paid, itemStyle: { color: '#409eff' } },
      { name: labels.pickedUp, type: 'line', yAxisIndex: 1, data: s.pickedUp, itemStyle: { color: '#e6a23c' } },
    ],
  }
}
