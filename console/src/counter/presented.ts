// What the clerk typed or scanned, as the preview/verify body wants it.
export type Presented = { code: string } | { qr_payload: string }

/** 12 digits (spaces and dashes ignored) → {code}; a scanned payload (TH2:…, TH3:…, a
 * mini-program scene pk=…) → {qr_payload}; anything else → null. */
export function presentedFrom(raw: string): Presented | null {
  const text = raw.trim()
  if (!text) return null
  const digits = text.replace(/[\s-]/g, '')
  if (/^[0-9]{12}$/.test(digits)) return { code: digits }
  if (/^[0-9\s-]*$/.test(text)) return null // digits, but not twelve
  if (text.length > 128 || /\s/.test(text)) return null
  return { qr_payload: text }
}
