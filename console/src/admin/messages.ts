// A page's own texts (src/i18n/<area>.ts), merged when its chunk loads: the counter's first
// load never carries them, and each page's file is its own.
import { i18n } from '@/i18n'

export function mergeMessages(messages: Record<string, Record<string, unknown>>): void {
  for (const [locale, texts] of Object.entries(messages)) i18n.global.mergeLocaleMessage(locale, texts as never)
}
