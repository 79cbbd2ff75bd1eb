import { describe, expect, it } from 'vitest'
import { i18n } from '@/i18n'
import cards from '@/i18n/cards'
import catalog from '@/i18n/catalog'
import { addMessages } from '@/i18n/pages'
import stock from '@/i18n/stock'

function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix]
  return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k)).sort()
}

describe("the pages' own texts", () => {
  it('say the same things in both languages, each under its own area', () => {
    for (const [area, bundle] of Object.entries({ stock, catalog, cards })) {
      expect(Object.keys(bundle['zh-CN'])).toEqual([area])
      expect(keys(bundle.en)).toEqual(keys(bundle['zh-CN']))
    }
  })

  it('join the UI texts when merged, next to the first-load ones', () => {
    addMessages(stock)
    const t = i18n.global.t
    expect(t('stock.levels.critical')).toBe('断货')
    expect(t('common.refresh')).toBe('刷新')
    i18n.global.locale.value = 'en'
    expect(t('stock.levels.critical')).toBe('Critical')
    i18n.global.locale.value = 'zh-CN'
  })
})
