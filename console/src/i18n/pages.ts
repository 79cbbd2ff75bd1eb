// A page's own texts, merged when its chunk loads: the counter's first load carries only
// zh-CN.ts / en.ts, and pages added side by side never edit the same file.
import { i18n, type Locale } from './index'

export type PageMessages = Record<Locale, Record<string, unknown>>

export function addMessages(messages: PageMessages): void {
  for (const locale of Object.keys(messages) as Locale[]) {
    i18n.global.mergeLocaleMessage(locale, messages[locale] as never)
  }
}
