// Money in the console: the API counts integer fen; yuan exist only as text. No floats
// ever touch an amount: "12.8" is parsed digit by digit, 1280 is printed by division.

/** 1280 → "¥12.80"; -5 → "-¥0.05". */
export function formatFen(fen: number | null | undefined): string {
  if (fen == null || !Number.isSafeInteger(fen)) return '—'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const yuan = Math.floor(abs / 100)
  const cents = abs % 100
  return `${sign}¥${yuan.toLocaleString('en-US')}.${String(cents).padStart(2, '0')}`
}

/** "12.8" / "¥12.80" / "12" → fen (1280, 1200); null for anything else (negative, more
 * than 2 decimals, not a number, too large). */
export function parseYuan(text: string): number | null {
  const match = /^\s*[¥￥]?\s*(\d{1,9})(?:\.(\d{0,2}))?\s*$/.exec(text.replace(/,/g, ''))
  if (!match) return null
  const yuan = Number(match[1])
  const cents = Number((match[2] ?? '').padEnd(2, '0'))
  return yuan * 100 + cents
}

/** 1280 → "12.80" (for an input's value, no currency sign). */
export function fenToYuanText(fen: number): string {
  return formatFen(fen).replace('¥', '')
}
