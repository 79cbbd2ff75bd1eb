// The action queues: what needs a person, from the existing list endpoints only. Each is
// shown only to staff with the ability its endpoint needs (the same as its menu entry).
import { api, unwrap } from '@/api/client'
import type { Ability } from '@/auth/abilities'
import { formatTime } from '@/i18n'
import { storeName } from '@/auth/stores'

export type QueueName = 'replenishment' | 'reviews' | 'paymentCases' | 'outbox' | 'lockedCards' | 'expiring' | 'parcelIssues'

export interface QueueRow { key: string; cells: Record<string, string> }
export interface QueuePage { rows: QueueRow[]; next: string | null }

/** What a member may do to one row where the queue is listed (e.g. unlock a card). */
export interface QueueAction {
  label: string // i18n keys
  confirm: string // i18n key, given { ref }
  done: string // i18n key, given { ref }
  run(row: QueueRow): Promise<void>
}

export interface Queue {
  name: QueueName
  ability: Ability
  title: string // i18n keys
  label: string
  columns: string[] // i18n keys under queues.<name>
  link?: { column: string; route: string; param: string; ability: Ability } // the column that opens the row (route param = row.key)
  fetch(options: { cursor: string | null; storeId: number | null; limit: number }): Promise<QueuePage>
  action?: QueueAction // needs the queue's own ability
}

const text = (v: unknown) => (v == null || v === '' ? '—' : String(v))
const cursorOf = (c: string | null) => (c ? { cursor: c } : {})

export const QUEUES: Queue[] = [
  {
    name: 'expiring', ability: 'orders.read', title: 'queues.expiring.title', label: 'dashboard.expiring',
    columns: ['ref', 'store', 'deadline', 'items'],
    link: { column: 'ref', route: 'order', param: 'orderNo', ability: 'orders.fulfil' },
    async fetch({ cursor, storeId, limit }) {
      const data = await unwrap(api.GET('/api/staff/pickups/expiring', {
        params: { query: { limit, ...cursorOf(cursor), ...(storeId ? { store_id: storeId } : {}) } },
      }))
      const rows = (data.items ?? []).map((o) => ({
        key: text(o.order_no),
        cells: {
          ref: text(o.order_no), store: storeName(o.store_id), deadline: formatTime(o.pickup_deadline),
          items: (o.items ?? []).filter((i) => (i.qty ?? 0) > (i.picked_up_qty ?? 0))
            .map((i) => `${i.name ?? ''} ×${(i.qty ?? 0) - (i.picked_up_qty ?? 0)}`).join('、') || '—',
        },
      }))
      return { rows, next: data.next_cursor ?? null }
    },
  },
  {
    name: 'reviews', ability: 'pickups.review', title: 'queues.reviews.title', label: 'dashboard.reviews',
    columns: ['ref', 'store', 'lockedAt', 'attempts'],
    async fetch({ cursor, storeId, limit }) {
      const data = await unwrap(api.GET('/api/staff/pickups/reviews', {
        params: { query: { limit, ...cursorOf(cursor), ...(storeId ? { store_id: storeId } : {}) } },
      }))
      // The first page also lists locked cards: they have their own queue.
      const rows = (data.items ?? []).filter((i) => i.kind === 'order').map((i) => ({
        key: `${i.kind}:${i.ref}`,
        cells: { ref: text(i.ref), store: storeName(i.store_id), lockedAt: formatTime(i.locked_at), attempts: text(i.failed_attempts) },
      }))
      return { rows, next: data.next_cursor ?? null }
    },
  },
  {
    name: 'lockedCards', ability: 'cards.review', title: 'queues.lockedCards.title', label: 'dashboard.lockedCards',
    columns: ['ref', 'store', 'lockedAt', 'attempts'],
    async fetch() {
      const data = await unwrap(api.GET('/api/staff/cards/locked'))
      const rows = (data.items ?? []).map((i) => ({
        key: text(i.ref),
        cells: { ref: text(i.ref), store: i.store_id == null ? '—' : storeName(i.store_id), lockedAt: formatTime(i.locked_at), attempts: text(i.failed_attempts) },
      }))
      return { rows, next: null }
    },
    action: {
      label: 'queues.lockedCards.unlock',
      confirm: 'queues.lockedCards.unlockConfirm',
      done: 'queues.lockedCards.unlocked',
      async run(row) {
        await unwrap(api.POST('/api/staff/cards/{serial}/unlock', { params: { path: { serial: row.key } } }))
      },
    },
  },
  {
    // Parcels in trouble (疑难, returned, refused, nothing heard 48 h after shipping), by the
    // carrier's pushes: the row opens its order; resolving says it was dealt with.
    name: 'parcelIssues', ability: 'parcels.issues', title: 'queues.parcelIssues.title', label: 'dashboard.parcelIssues',
    columns: ['order', 'kind', 'parcel', 'detail', 'opened'],
    link: { column: 'order', route: 'order', param: 'orderNo', ability: 'orders.fulfil' },
    async fetch({ cursor, storeId, limit }) {
      const data = await unwrap(api.GET('/api/staff/parcel-issues', {
        params: { query: { status: 'open', limit, ...cursorOf(cursor), ...(storeId ? { store_id: storeId } : {}) } },
      }))
      const rows = (data.items ?? []).map((i) => ({
        key: String(i.id),
        cells: {
          order: text(i.order_no), kind: text(i.reason), parcel: `${text(i.parcel?.carrier)} ${text(i.parcel?.tracking_no)}`,
          detail: text(i.detail), opened: formatTime(i.opened_at),
        },
      }))
      return { rows, next: data.next_cursor ?? null }
    },
    action: {
      label: 'queues.parcelIssues.resolve',
      confirm: 'queues.parcelIssues.resolveConfirm',
      done: 'queues.parcelIssues.resolved',
      async run(row) {
        await unwrap(api.POST('/api/staff/parcel-issues/{issue_id}/resolve', {
          params: { path: { issue_id: Number(row.key) } }, body: { resolution: '已在控制台处理' },
        }))
      },
    },
  },
  {
    name: 'replenishment', ability: 'stock.read', title: 'queues.replenishment.title', label: 'dashboard.replenishment',
    columns: ['store', 'sku', 'qty', 'created'],
    async fetch({ cursor, storeId, limit }) {
      const data = await unwrap(api.GET('/api/admin/replenishment-requests', {
        params: { query: { status: 'open', limit, ...cursorOf(cursor), ...(storeId ? { store_id: storeId } : {}) } },
      }))
      const rows = (data.items ?? []).map((i) => ({
        key: String(i.id),
        cells: { store: storeName(i.store_id), sku: text(i.sku_id), qty: text(i.qty_suggested), created: formatTime(i.created_at) },
      }))
      return { rows, next: data.next_cursor ?? null }
    },
  },
  {
    name: 'paymentCases', ability: 'payments.read', title: 'queues.paymentCases.title', label: 'dashboard.paymentCases',
    columns: ['kind', 'order', 'transaction', 'created'],
    async fetch({ cursor, limit }) {
      const data = await unwrap(api.GET('/api/admin/payment-cases', {
        params: { query: { status: 'open', limit, ...cursorOf(cursor) } },
      }))
      const rows = (data.items ?? []).map((i) => ({
        key: String(i.id),
        cells: { kind: text(i.kind), order: text(i.order_id), transaction: text(i.transaction_id), created: formatTime(i.created_at) },
      }))
      return { rows, next: data.next_cursor ?? null }
    },
  },
  {
    name: 'outbox', ability: 'outbox.read', title: 'queues.outbox.title', label: 'dashboard.outbox',
    columns: ['kind', 'attempts', 'error', 'created'],
    async fetch({ cursor, limit }) {
      const data = await unwrap(api.GET('/api/admin/outbox', {
        params: { query: { status: 'failed', limit, ...cursorOf(cursor) } },
      }))
      const rows = (data.items ?? []).map((i) => ({
        key: String(i.id),
        cells: { kind: text(i.kind), attempts: text(i.attempts), error: text(i.last_error), created: formatTime(i.created_at) },
      }))
      return { rows, next: data.next_cursor ?? null }
    },
  },
]

export function queueNamed(name: string): Queue | undefined {
  return QUEUES.find((q) => q.name === name)
}

/** The lists have no count endpoint: a count is what one page of 100 holds, "100+" when
 * there is more. */
export async function countQueue(queue: Queue, storeId: number | null): Promise<{ n: number; more: boolean }> {
  const page = await queue.fetch({ cursor: null, storeId, limit: 100 })
  return { n: page.rows.length, more: page.next !== null }
}
