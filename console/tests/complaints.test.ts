import { describe, expect, it } from 'vitest'
import { formatDuration, isLate } from '@/complaints/format'
import complaints from '@/i18n/complaints'

const zh = { day: '天', hour: '小时', minute: '分', second: '秒', sep: '' }

describe('first-response times', () => {
  it('read as staff say them', () => {
    expect(formatDuration(null, zh)).toBeNull()
    expect(formatDuration(42, zh)).toBe('42秒')
    expect(formatDuration(7260, zh)).toBe('2小时1分')
    expect(formatDuration(90061, zh)).toBe('1天1小时')
    expect(formatDuration(7260, { ...zh, hour: ' h', minute: ' min', sep: ' ' })).toBe('2 h 1 min')
  })

  it('count as late after a day, answered or still waiting', () => {
    const now = Date.parse('2026-12-07T12:00:00Z')
    expect(isLate(3600, '2026-12-01T00:00:00Z', now)).toBe(false)
    expect(isLate(90000, null, now)).toBe(true)
    expect(isLate(null, '2026-12-06T11:00:00Z', now)).toBe(true)
    expect(isLate(null, '2026-12-07T11:00:00Z', now)).toBe(false)
  })

  it('say the same things in both languages', () => {
    const keys = (v: unknown, p = ''): string[] => (typeof v !== 'object' || v === null ? [p]
      : Object.entries(v).flatMap(([k, x]) => keys(x, p ? `${p}.${k}` : k)).sort())
    expect(keys(complaints.en)).toEqual(keys(complaints['zh-CN']))
  })
})
