import { describe, expect, it } from 'vitest'
import { exportQuery, jobPercent } from '@/exports/exporter'

describe('exports', () => {
  it('send only the filters given', () => {
    expect(exportQuery({})).toBe('')
    expect(exportQuery({ from: '2026-12-01', to: null, storeId: 3 })).toBe('?from=2026-12-01&store_id=3')
  })

  it('show a job’s progress, unknown until counted, never 100 before ready', () => {
    expect(jobPercent({ status: 'queued', rows_total: null })).toBeNull()
    expect(jobPercent({ status: 'running', rows_total: 1000, rows_done: 999 })).toBe(99)
    expect(jobPercent({ status: 'running', rows_total: 1000, rows_done: 1000 })).toBe(99)
    expect(jobPercent({ status: 'running', rows_total: 0, rows_done: 0 })).toBe(100)
    expect(jobPercent({ status: 'ready', rows_total: 10, rows_done: 10 })).toBe(100)
  })
})
