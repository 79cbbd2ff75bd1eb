// A refund dialog's Idempotency-Key. One key per dialog: a retried click, or a retry after
// an answer that never came, sends the same key with the same body, so the server makes
// at most one refund. The key changes only when the previous request was refused outright
// (nothing was refunded) and the body changed since; a body changed after an unknown
// outcome keeps the key, and the server refuses the new body (idempotency_key_reused)
// rather than refund twice.
import { randomId } from '@/random'

export interface RefundBody {
  amount_fen: number
  reason: string | null
}

export type Outcome = 'none' | 'sending' | 'unknown' | 'refused' | 'done'

export class RefundDraft {
  key: string
  sent: RefundBody | null = null
  outcome: Outcome = 'none'

  constructor(newKey: () => string = randomId) {
    this.newKey = newKey
    this.key = newKey()
  }

  private readonly newKey: () => string

  /** The key to send with this body (and remember it as sent). */
  keyFor(body: RefundBody): string {
    const same = this.sent !== null && this.sent.amount_fen === body.amount_fen
      && (this.sent.reason ?? null) === (body.reason ?? null)
    if (this.sent !== null && !same && this.outcome === 'refused') this.key = this.newKey()
    this.sent = { ...body }
    this.outcome = 'sending'
    return this.key
  }

  /** A click while a request is out must not send another. */
  get busy(): boolean {
    return this.outcome === 'sending'
  }
}
