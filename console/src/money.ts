// Money is integer fen everywhere; yuan only on screen. Both directions use integer
// arithmetic and string handling, never floats: "12.8" is 1280 fen, 1280 fen is "12.80".

/** 1280 → "12.80"; -5 → "-0.05". */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) return '—'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const yuan = Math.trunc(abs / 100)
  const cents = abs % 100
  return `${sign}${yuan}.${cents < 10 ? '0' : ''}${cents}`
}

/** "¥12.80" */
export function formatYuan(fen: number): string {
  return `¥${formatFen(fen)}`
}

/** A yuan amount typed by a person → fen, exactly: "12.8" → 1280, "0.05" → 5, "7" → 700,
 * "¥1,299.00" → 129900 (but "12,8" is refused). null for anything else (negative, more than two decimals, not a
 * number, beyond a safe integer). */
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
