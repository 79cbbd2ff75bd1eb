// Money is integer fen everywhere; yuan only on screen. Both directions use integer
// arithmetic and string handling, never floats: "12.8" is 1280 fen, 1280 fen is "12.80"
// (0.29 * 100 is 28.999999999999996 in floats). The one place the console converts money.

/** 1280 → "12.80"; -5 → "-0.05": what an input shows to be edited. "—" for anything but a
 * whole number of fen. */
export function fenToYuanText(fen: number): string {
  if (!Number.isSafeInteger(fen)) return '—'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const cents = abs % 100
  const yuan = (abs - cents) / 100 // exact: abs - cents is a multiple of 100
  return `${sign}${yuan}.${cents < 10 ? '0' : ''}${cents}`
}

/** 123456 → "¥1,234.56", -5 → "-¥0.05": an amount to read. "—" for anything but a whole
 * number of fen (null, a string, 1.5). */
export function formatFen(fen: unknown): string {
  if (typeof fen !== 'number' || !Number.isSafeInteger(fen)) return '—'
  const [yuan = '0', cents = '00'] = fenToYuanText(Math.abs(fen)).split('.')
  const grouped = yuan.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${fen < 0 ? '-' : ''}¥${grouped}.${cents}`
}

/** A yuan amount typed by a person → fen, exactly: "12.8" → 1280, "0.05" → 5, "7" → 700,
 * ".5" → 50, "¥1,299.00" → 129900 (but "12,8" is refused). null for anything else
 * (negative, more than two decimals, not a number, beyond a safe integer). */
export function parseYuan(text: string): number | null {
  let cleaned = text.trim().replace(/^[¥￥]\s*/, '')
  // Commas only as thousands separators ("1,299.00"); "12,8" is a decimal comma: refused.
  if (cleaned.includes(',')) {
    if (!/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(cleaned)) return null
    cleaned = cleaned.replace(/,/g, '')
  }
  const match = /^(\d+)(?:\.(\d{0,2}))?$/.exec(cleaned) ?? /^()\.(\d{1,2})$/.exec(cleaned)
  if (!match) return null
  const whole = match[1] || '0'
  const fraction = (match[2] ?? '').padEnd(2, '0')
  const fen = BigInt(whole) * 100n + BigInt(fraction)
  if (fen > BigInt(Number.MAX_SAFE_INTEGER)) return null
  return Number(fen)
}

/** 1280 → 12.8, for a chart's axis only (a plotted height, never an amount read or sent). */
export function fenToYuanNumber(fen: number): number {
  return Number.isSafeInteger(fen) ? fen / 100 : 0
}
