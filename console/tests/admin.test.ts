import { describe, expect, it } from 'vitest'
import { actionFilter, auditQuery, describeChanges, isDay } from '@/admin/audit'
import { differenceRow } from '@/admin/money'
import { formatFen } from '@/money'
import { createProblems, needsStores, patchFor } from '@/admin/staff'
import auditTexts from '@/i18n/audit'
import moneyTexts from '@/i18n/money'
import staffTexts from '@/i18n/staff'
import { NAV } from '@/nav'

describe('fen to yuan', () => {
  it('formats with integer arithmetic', () => {
    expect(formatFen(0)).toBe('¥0.00')
    expect(formatFen(5)).toBe('¥0.05')
    expect(formatFen(10)).toBe('¥0.10')
    expect(formatFen(8900)).toBe('¥89.00')
    expect(formatFen(123456789)).toBe('¥1,234,567.89')
    expect(formatFen(-1999)).toBe('-¥19.99')
    expect(formatFen(Number.MAX_SAFE_INTEGER)).toBe('¥90,071,992,547,409.91')
  })

  it('shows a dash for anything but whole fen', () => {
    for (const bad of [null, undefined, '100', 1.5, Number.NaN, Infinity]) expect(formatFen(bad)).toBe('—')
  })

  it('shows a difference on both sides, and bill minus ours', () => {
    expect(differenceRow({ kind: 'amount_differs', transaction_id: 'T1', ours_fen: 8900, bill_fen: 8800 }))
      .toEqual({ kind: 'amount_differs', ref: 'T1', ours: '¥89.00', bill: '¥88.00', delta: '-¥1.00' })
    expect(differenceRow({ kind: 'refund_missing_here', out_refund_no: 'R1', bill_fen: 100 }))
      .toEqual({ kind: 'refund_missing_here', ref: 'R1', ours: '—', bill: '¥1.00', delta: '—' })
  })
})

describe('the staff form', () => {
  const ok = { username: 'clerk.one', password: 'long-enough-1', role: 'clerk' as const, store_ids: [1], display_name: '' }

  it('says what the API would refuse', () => {
    expect(createProblems(ok)).toEqual([])
    expect(createProblems({ ...ok, username: 'a b' })).toEqual(['username'])
    expect(createProblems({ ...ok, password: 'short' })).toEqual(['password'])
    expect(createProblems({ ...ok, role: '' })).toEqual(['role'])
    expect(createProblems({ ...ok, display_name: 'x'.repeat(65) })).toEqual(['displayName'])
  })

  it('asks for stores for the roles bound to them', () => {
    expect(needsStores('clerk')).toBe(true)
    expect(needsStores('manager')).toBe(true)
    expect(needsStores('admin')).toBe(false)
    expect(needsStores('analyst')).toBe(false)
  })

  it('sends only what changed (never the unchanged role)', () => {
    const row = { role: 'admin', store_ids: [2, 1], display_name: 'A' }
    expect(patchFor(row, { role: 'admin', store_ids: [1, 2], display_name: 'A' })).toEqual({})
    expect(patchFor(row, { role: 'admin', store_ids: [1, 2], display_name: 'B' })).toEqual({ display_name: 'B' })
    expect(patchFor(row, { role: 'manager', store_ids: [3, 1], display_name: 'A' })).toEqual({ role: 'manager', store_ids: [1, 3] })
  })
})

describe('the audit log', () => {
  it('reads [old, new] pairs and plain values', () => {
    expect(describeChanges({ role: ['clerk', 'manager'], store_ids: [[1], [1, 2]], password: 'changed', active: [true, false] }))
      .toEqual(['role: clerk → manager', 'store_ids: [1] → [1, 2]', 'password: changed', 'active: true → false'])
    expect(describeChanges({ username: 'bob', store_ids: [3, 4] })).toEqual(['username: bob', 'store_ids: [3, 4]'])
    expect(describeChanges(null)).toEqual([])
  })

  const none = { actor: '', action: '', targetType: '', targetId: '', from: '', to: '' }

  it('asks the API for a whole action exactly and for a word as a prefix', () => {
    expect(actionFilter('staff.create')).toBe('staff.create')
    expect(actionFilter(' inventory ')).toBe('inventory*')
    expect(actionFilter('inventory.')).toBe('inventory.*')
    expect(actionFilter('card_batch.*')).toBe('card_batch.*')
    expect(actionFilter('')).toBe('')
  })

  it('turns the filter into the query the API takes', () => {
    expect(auditQuery(none)).toEqual({ query: {} })
    expect(auditQuery({ ...none, actor: '7', action: 'inventory', targetType: 'stores', targetId: '3', from: '2026-03-01', to: '2026-03-02' }))
      .toEqual({ query: { actor_id: 7, action: 'inventory*', target_type: 'stores', target_id: '3', from: '2026-03-01', to: '2026-03-02' } })
    expect(auditQuery({ ...none, from: '2026-03-02', to: '2026-03-02' })).toEqual({ query: { from: '2026-03-02', to: '2026-03-02' } })
  })

  it('says what the API would refuse', () => {
    expect(auditQuery({ ...none, actor: 'bob' })).toEqual({ problem: 'actor' })
    expect(auditQuery({ ...none, actor: '0' })).toEqual({ problem: 'actor' })
    expect(auditQuery({ ...none, action: 'inventory.%' })).toEqual({ problem: 'action' })
    expect(auditQuery({ ...none, targetId: '3' })).toEqual({ problem: 'targetType' })
    expect(auditQuery({ ...none, targetType: 'Stores' })).toEqual({ problem: 'targetType' })
    expect(auditQuery({ ...none, targetType: 'stores', targetId: 'x'.repeat(65) })).toEqual({ problem: 'targetId' })
    expect(auditQuery({ ...none, from: '2026-03-04', to: '2026-03-01' })).toEqual({ problem: 'dates' })
    expect(auditQuery({ ...none, to: '2026-02-30' })).toEqual({ problem: 'dates' })
  })

  it('knows a calendar day', () => {
    expect(isDay('2026-02-28')).toBe(true)
    expect(isDay('2028-02-29')).toBe(true)
    for (const bad of ['2026-02-29', '2026-13-01', '26-01-01', '1999-12-31', '3000-01-01', '']) expect(isDay(bad)).toBe(false)
  })
})

describe('the pages’ texts', () => {
  const keys = (o: object, prefix = ''): string[] => Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`])

  it('have the same keys in both languages', () => {
    for (const texts of [staffTexts, auditTexts, moneyTexts]) expect(keys(texts.en)).toEqual(keys(texts['zh-CN']))
  })

  it('are on the menu as real pages', () => {
    for (const name of ['staff', 'audit', 'money']) {
      const entry = NAV.find((e) => e.name === name)
      expect(entry?.soon).toBeFalsy()
    }
    expect(NAV.find((e) => e.name === 'money')).toMatchObject({ path: 'money', ability: 'payments.read', group: 'manage', label: 'nav.money' })
  })
})
