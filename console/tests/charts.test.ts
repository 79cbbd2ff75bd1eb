import { describe, expect, it } from 'vitest'
import { csvCell, toCsv } from '@/charts/csv'
import { durationParts, funnelStages, heatmap, type FlowReport } from '@/reports/flow'
import { series, trendOption } from '@/dashboard/report'

describe("a chart's data as CSV", () => {
  it('neutralises what a spreadsheet would run as a formula, keeps numbers numbers', () => {
    expect(csvCell('=1+1')).toBe(`"'=1+1"`)
    expect(csvCell('+cmd')).toBe(`"'+cmd"`)
    expect(csvCell('-2+3')).toBe(`"'-2+3"`)
    expect(csvCell('@SUM(A1)')).toBe(`"'@SUM(A1)"`)
    expect(csvCell('\tx')).toBe(`"'\tx"`)
    expect(csvCell(-5)).toBe('-5')
    expect(csvCell('静安寺店')).toBe('静安寺店')
    expect(csvCell('a,"b"')).toBe('"a,""b"""')
    expect(csvCell(null)).toBe('')
  })

  it('starts with a BOM and ends lines with CRLF', () => {
    expect(toCsv(['门店', 'n'], [['店', 1]])).toBe('\uFEFF门店,n\r\n店,1\r\n')
  })
})

describe('the flow report, shaped for charts', () => {
  const report: FlowReport = {
    steps: [
      { step: 'ready', samples: 30, p50_s: 600, p90_s: 7200, by_store: [
        { store_id: 2, samples: 20, p50_s: 1200, p90_s: 18000, usual_p90_s: 600, bottleneck: 'vs_stores' },
        { store_id: 1, samples: 10, p50_s: 60, p90_s: 600, usual_p90_s: null, bottleneck: null },
      ] },
      { step: 'pickup', samples: 1, p50_s: 90, p90_s: 90, by_store: [{ store_id: 1, samples: 1, p50_s: 90, p90_s: 90 }] },
    ],
    funnel: { totals: { placed: 10, paid: 8, prepared: 6, collected: 5, kept: 4, lost_unpaid: 2, lost_expired: 1, lost_refunded: 1 } },
  }

  it('lays stores × steps out as p90 minutes, bottlenecks marked, gaps null', () => {
    const h = heatmap(report)
    expect(h.stores).toEqual([1, 2])
    expect(h.cells).toContainEqual([1, 1, 300]) // ready at store 2: 18000 s
    expect(h.cells).toContainEqual([2, 0, 2]) // pickup at store 1: 90 s → 2 min
    expect(h.cells).toContainEqual([0, 0, null]) // nobody paid in the range
    expect([...h.flagged]).toEqual(['2:ready'])
  })

  it('gives the funnel in order with shares of placed', () => {
    expect(funnelStages(report).map((s) => [s.stage, s.count, s.share])).toEqual([
      ['placed', 10, 100], ['paid', 8, 80], ['prepared', 6, 60], ['collected', 5, 50], ['kept', 4, 40]])
    expect(funnelStages({}).every((s) => s.share === null)).toBe(true)
  })

  it('reads durations in days, hours and minutes', () => {
    expect(durationParts(3725)).toEqual({ d: 0, h: 1, m: 2 })
    expect(durationParts(2 * 86400 + 3600)).toEqual({ d: 2, h: 1, m: 0 })
    expect(durationParts(-5)).toEqual({ d: 0, h: 0, m: 0 })
  })

  it('plots yuan on the axis and keeps the exact amount for the tooltip', () => {
    const s = series({ by_day: [{ day: '2026-12-07', paid: 1, paid_fen: 12345, picked_up: 0 }] })
    const option = trendOption(s, { gmv: 'g', paid: 'p', pickedUp: 'u' })
    expect(option.series[0]!.data).toEqual([123.45])
    expect(option.tooltip.formatter([{ seriesIndex: 0, marker: '', seriesName: 'g', dataIndex: 0 }])).toBe('12-07<br>g: ¥123.45')
  })
})

describe('rates', () => {
  it('show per mille as a percentage with one decimal, exactly', async () => {
    const { perMille } = await import('@/reports/flow')
    expect(perMille(78)).toBe('7.8%')
    expect(perMille(1000)).toBe('100.0%')
    expect(perMille(undefined)).toBe('0.0%')
  })
})
