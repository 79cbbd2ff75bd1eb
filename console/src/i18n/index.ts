import { createI18n } from 'vue-i18n'
import en from './en'
import zhCN from './zh-CN'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: { value: Locale; label: string }[] = [
  { value: 'zh-CN', label: '简体中文' },
  { value: 'en', label: 'English' },
]
const KEY = 'tihuo.lang'

function initial(): Locale {
  const saved = typeof localStorage === 'undefined' ? null : localStorage.getItem(KEY)
  return saved === 'en' || saved === 'zh-CN' ? saved : 'zh-CN' // Chinese unless chosen otherwise
}

export const i18n = createI18n({
  legacy: false,
  locale: initial(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})

export function locale(): Locale {
  return i18n.global.locale.value as Locale
}

export function setLocale(value: Locale): void {
  i18n.global.locale.value = value
  localStorage.setItem(KEY, value)
  document.documentElement.lang = value
}

/** "45 秒" / "3 分钟" for a wait in seconds. */
export function formatWait(seconds: number): string {
  const t = i18n.global.t
  return seconds < 120 ? t('time.seconds', { n: seconds }) : t('time.minutes', { n: Math.ceil(seconds / 60) })
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return date.toLocaleString(locale(), { dateStyle: 'short', timeStyle: 'short' })
}
