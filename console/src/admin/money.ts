import { formatFen } from '@/money'

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
