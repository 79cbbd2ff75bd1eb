// Money as the API gives it: integer fen. Formatted with integer arithmetic only (no
// floating division), so ¥0.10 never shows as ¥0.09999.

/** 123456 → "¥1,234.56", -5 → "-¥0.05"; anything but a safe integer → "—". */
export function formatFen(fen: unknown): string {
  if (typeof fen !== 'number' || !Number.isSafeInteger(fen)) return '—'
  const abs = Math.abs(fen)
  const cents = abs % 100
  const yuan = (abs - cents) / 100 // exact: abs - cents is a multiple of 100
  const grouped = String(yuan).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${fen < 0 ? '-' : ''}¥${grouped}.${String(cents).padStart(2, '0')}`
}

/** One reconciliation difference (models/payments/reconcile.py) as a row to show. */
export interface DifferenceRow {
  kind: string
  ref: string // the transaction or refund number
  ours: string // formatted; "—" when this side has none
  bill: string
  delta: string // bill − ours when both sides have an amount
}

const isFen = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)

export function differenceRow(d: Record<string, unknown>): DifferenceRow {
  const ref = d.transaction_id ?? d.out_refund_no ?? d.out_trade_no
  const ours = d.ours_fen
  const bill = d.bill_fen
  return {
    kind: String(d.kind ?? '—'),
    ref: ref == null || ref === '' ? '—' : String(ref),
    ours: formatFen(ours),
    bill: formatFen(bill),
    delta: isFen(ours) && isFen(bill) ? formatFen(bill - ours) : '—',
  }
}
