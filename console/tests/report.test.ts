import { describe, expect, it } from 'vitest'
import { change, figure, series, type DailyReport } from '@/dashboard/report'
import { fenToYuanNumber } from '@/money'
import reports from '@/i18n/reports'

describe('the dashboard figures', () => {
  it('compare with the period before only when there was one', () => {
    expect(change(120, 100)).toBe(20)
    expect(change(50, 200)).toBe(-75)
    expect(change(1, 3)).toBe(-67)
    expect(change(5, 0)).toBeNull() // no honest percentage of nothing
    expect(change(0, 0)).toBeNull()
  })

  it('read a figure, 0 when it is missing', () => {
    expect(figure({ paid: 3 }, 'paid')).toBe(3)
    expect(figure({}, 'paid')).toBe(0)
    expect(figure(undefined, 'paid_fen')).toBe(0)
  })

  it('shape one chart point per day, money still in fen', () => {
    const report: DailyReport = {
      by_day: [
        { day: '2026-12-06', paid: 2, paid_fen: 25600, picked_up: 1 },
        { day: '2026-12-07', paid: 0, paid_fen: 0, picked_up: 0 },
      ],
    }
    expect(series(report)).toEqual({ days: ['12-06', '12-07'], gmvFen: [25600, 0], paid: [2, 0], pickedUp: [1, 0] })
    expect(fenToYuanNumber(25600)).toBe(256)
    expect(fenToYuanNumber(Number.NaN)).toBe(0)
  })

  it('say the same things in both languages', () => {
    const keys = (o: object) => Object.keys((o as { report: object }).report).sort()
    expect(keys(reports.en)).toEqual(keys(reports['zh-CN']))
  })
})
