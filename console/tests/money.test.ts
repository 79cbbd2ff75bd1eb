import { describe, expect, it } from 'vitest'
import { fenToYuanText, formatFen, parseYuan } from '@/money'
import { hoursToText, parseHours } from '@/catalog/hours'

describe('yuan typed in, integer fen out, exactly', () => {
  it('reads the amounts floats get wrong', () => {
    expect(parseYuan('12.8')).toBe(1280)
    expect(parseYuan('0.1')).toBe(10)
    expect(parseYuan('0.29')).toBe(29) // 0.29 * 100 = 28.999999999999996 in floats
    expect(parseYuan('1.005')).toBeNull() // a third decimal is not money
    expect(parseYuan('19.99')).toBe(1999)
    expect(parseYuan('4.35')).toBe(435) // 4.35 * 100 = 434.99999999999994
    expect(parseYuan('1234567.89')).toBe(123456789)
  })

  it('takes the ways people type it', () => {
    expect(parseYuan('7')).toBe(700)
    expect(parseYuan('7.')).toBe(700)
    expect(parseYuan('.5')).toBe(50)
    expect(parseYuan(' ¥1,299.00 ')).toBe(129900)
    expect(parseYuan('￥0.05')).toBe(5)
    expect(parseYuan('007.50')).toBe(750)
  })

  it('refuses what is not an amount', () => {
    for (const bad of ['', ' ', '-1', '1e3', 'abc', '1.2.3', '12,8', '1.234', 'NaN', 'Infinity', '99999999999999999999']) {
      expect(parseYuan(bad), bad).toBeNull()
    }
  })

  it('shows fen as yuan with two decimals, by integers', () => {
    expect(fenToYuanText(1280)).toBe('12.80')
    expect(fenToYuanText(5)).toBe('0.05')
    expect(fenToYuanText(0)).toBe('0.00')
    expect(fenToYuanText(-1205)).toBe('-12.05')
    expect(fenToYuanText(123456789)).toBe('1234567.89')
    expect(formatFen(39800)).toBe('¥398.00')
    expect(fenToYuanText(1.5)).toBe('—')
  })

  it('round-trips every fen amount up to 1,000 yuan', () => {
    for (let fen = 0; fen <= 100_000; fen += 1) expect(parseYuan(fenToYuanText(fen))).toBe(fen)
  })
})

describe('opening hours as the API takes them', () => {
  it('reads one line a day, several ranges, and closed days', () => {
    const text = { ...hoursToText({}), mon: '9:00-21:00', sat: '09:00-12:00, 14:00-22:00', sun: '' }
    expect(parseHours(text)).toEqual({ hours: { mon: [['09:00', '21:00']], sat: [['09:00', '12:00'], ['14:00', '22:00']] } })
  })

  it('names the day it cannot read', () => {
    expect(parseHours({ ...hoursToText({}), tue: '25:00-26:00' })).toEqual({ badDay: 'tue' })
    expect(parseHours({ ...hoursToText({}), wed: '09:00-09:00' })).toEqual({ badDay: 'wed' })
    expect(parseHours({ ...hoursToText({}), thu: '09:00' })).toEqual({ badDay: 'thu' })
  })

  it('shows what the API holds', () => {
    expect(hoursToText({ mon: [['09:00', '21:00']], fri: [['08:00', '12:00'], ['13:00', '18:00']] })).toMatchObject({
      mon: '09:00-21:00', tue: '', fri: '08:00-12:00, 13:00-18:00' })
    expect(hoursToText(null).mon).toBe('')
  })
})
