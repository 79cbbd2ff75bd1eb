import { describe, expect, it, vi } from 'vitest'
import { presentedFrom } from '@/counter/presented'
import { createWedge } from '@/counter/wedge'
import en from '@/i18n/en'
import zh from '@/i18n/zh-CN'

describe('what the clerk typed or scanned', () => {
  it('reads 12 digits as a code, a payload as qr_payload', () => {
    expect(presentedFrom(' 1234 5678-9012 ')).toEqual({ code: '123456789012' })
    expect(presentedFrom('TH2:TH2026:1:abcDEF')).toEqual({ qr_payload: 'TH2:TH2026:1:abcDEF' })
    expect(presentedFrom('pk=abcdefghijklmnopqrstuvwx')).toEqual({ qr_payload: 'pk=abcdefghijklmnopqrstuvwx' })
    expect(presentedFrom('12345')).toBeNull()
    expect(presentedFrom('')).toBeNull()
  })
})

describe('the keyboard wedge', () => {
  const key = (k: string) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false })

  it('hands over what was typed at Enter', () => {
    const onScan = vi.fn()
    const wedge = createWedge(onScan)
    for (const c of '123456789012') expect(wedge.key(key(c), 1000)).toBe(true)
    expect(wedge.key(key('Enter'), 1010)).toBe(true)
    expect(onScan).toHaveBeenCalledWith('123456789012')
  })

  it('starts over after a pause and leaves shortcuts and a bare Enter alone', () => {
    const onScan = vi.fn()
    const wedge = createWedge(onScan, 500)
    wedge.key(key('9'), 0)
    wedge.key(key('1'), 2000)
    wedge.key(key('Enter'), 2001)
    expect(onScan).toHaveBeenCalledWith('1')
    expect(wedge.key(key('Enter'), 3000)).toBe(false)
    expect(wedge.key({ ...key('r'), ctrlKey: true }, 3001)).toBe(false)
  })
})

describe('the languages', () => {
  const keys = (o: object, prefix = ''): string[] => Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`])

  it('have the same keys', () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort())
  })
})
