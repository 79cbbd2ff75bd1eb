import { describe, expect, it } from 'vitest'
import { ABILITIES } from '@/auth/abilities'
import { homeRoute, NAV, visibleNav } from '@/nav'
import { QUEUES } from '@/queues'

// As models/staff/abilities.py gives them.
const clerk = { abilities: ['session.own', 'catalog.read', 'stock.read', 'orders.read', 'orders.fulfil', 'pickups.verify'] }
const analyst = { abilities: ['session.own', 'catalog.read', 'stock.read', 'orders.read', 'cards.read', 'payments.read', 'outbox.read', 'audit.read'] }
const manager = { abilities: [...clerk.abilities, 'stock.write', 'pickups.review', 'cards.read', 'cards.review', 'refunds.create'] }

const names = (staff: { abilities: string[] }) => visibleNav(staff).map((e) => e.name)

describe('the menu follows the abilities', () => {
  it('offers a clerk the counter and nothing that needs review, payments or the outbox', () => {
    expect(names(clerk)).toEqual(['dashboard', 'counter', 'replenishment', 'expiring', 'orders', 'stock', 'catalog'])
    expect(homeRoute(clerk)).toBe('counter')
  })

  it('never offers the counter to an analyst, who lands on the to-do list', () => {
    expect(names(analyst)).not.toContain('counter')
    expect(names(analyst)).toEqual(expect.arrayContaining(['paymentCases', 'outbox', 'audit']))
    expect(homeRoute(analyst)).toBe('dashboard')
  })

  it('gives a manager the review queues and the counter, lands on the to-do list', () => {
    expect(names(manager)).toEqual(expect.arrayContaining(['counter', 'reviews', 'lockedCards']))
    expect(names(manager)).not.toContain('staff')
    expect(homeRoute(manager)).toBe('dashboard')
  })

  it('shows nothing to nobody, and names only abilities of the table', () => {
    expect(visibleNav(null)).toEqual([])
    for (const entry of [...NAV, ...QUEUES]) {
      if (entry.ability) expect(ABILITIES).toContain(entry.ability)
    }
  })

  it('gives every queue on the to-do list the ability of its menu entry', () => {
    for (const queue of QUEUES) expect(NAV.find((e) => e.name === queue.name)?.ability).toBe(queue.ability)
  })
})
