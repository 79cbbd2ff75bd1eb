// The menu: one entry per page, each with the ability its API calls need. The router
// guards the same abilities (router/index.ts reads route meta built from this list).
import type { Ability, HasAbilities } from './auth/abilities'
import { can } from './auth/abilities'

export interface NavEntry {
  name: string // the route name
  path: string
  label: string // i18n key
  ability?: Ability // undefined: any signed-in staff member
  group?: 'queues' | 'manage'
  soon?: boolean // a placeholder page ("即将推出")
}

export const NAV: NavEntry[] = [
  { name: 'dashboard', path: 'dashboard', label: 'nav.dashboard' },
  { name: 'counter', path: 'counter', label: 'nav.counter', ability: 'pickups.verify' },
  { name: 'reviews', path: 'queues/reviews', label: 'nav.reviews', ability: 'pickups.review', group: 'queues' },
  { name: 'lockedCards', path: 'queues/locked-cards', label: 'nav.lockedCards', ability: 'cards.review', group: 'queues' },
  { name: 'parcelIssues', path: 'queues/parcel-issues', label: 'nav.parcelIssues', ability: 'parcels.issues', group: 'queues' },
  { name: 'replenishment', path: 'queues/replenishment', label: 'nav.replenishment', ability: 'stock.read', group: 'queues' },
  { name: 'paymentCases', path: 'queues/payment-cases', label: 'nav.paymentCases', ability: 'payments.read', group: 'queues' },
  { name: 'outbox', path: 'queues/outbox', label: 'nav.outbox', ability: 'outbox.read', group: 'queues' },
  { name: 'expiring', path: 'queues/expiring', label: 'nav.expiring', ability: 'orders.read', group: 'queues' },
  { name: 'reports', path: 'reports', label: 'nav.reports', ability: 'reports.read', group: 'manage' },
  { name: 'orders', path: 'orders', label: 'nav.orders', ability: 'orders.read', group: 'manage' },
  { name: 'complaints', path: 'complaints', label: 'nav.complaints', ability: 'complaints.read', group: 'manage' },
  { name: 'aftersales', path: 'aftersales', label: 'nav.aftersales', ability: 'aftersales.read', group: 'manage' },
  { name: 'stock', path: 'stock', label: 'nav.stock', ability: 'stock.read', group: 'manage' },
  { name: 'cards', path: 'cards', label: 'nav.cards', ability: 'cards.read', group: 'manage' },
  { name: 'catalog', path: 'catalog', label: 'nav.catalog', ability: 'catalog.read', group: 'manage' },
  { name: 'coupons', path: 'coupons', label: 'nav.coupons', ability: 'growth.read', group: 'manage' },
  { name: 'growth', path: 'growth', label: 'nav.growth', ability: 'growth.read', group: 'manage' },
  { name: 'money', path: 'money', label: 'nav.money', ability: 'payments.read', group: 'manage' },
  { name: 'staff', path: 'staff', label: 'nav.staff', ability: 'staff.read', group: 'manage' },
  { name: 'audit', path: 'audit', label: 'nav.audit', ability: 'audit.read', group: 'manage' },
  { name: 'partners', path: 'partners', label: 'nav.partners', ability: 'partners.read', group: 'manage' },
]

/** The entries this staff member may open, in menu order. */
export function visibleNav(staff: HasAbilities | null, entries: NavEntry[] = NAV): NavEntry[] {
  return entries.filter((entry) => can(staff, entry.ability))
}

/** Where a staff member lands: the counter for those who serve at it and review nothing
 * (clerks), else the to-do list. */
export function homeRoute(staff: HasAbilities | null): string {
  if (can(staff, 'pickups.verify') && !can(staff, 'pickups.review')) return 'counter'
  return 'dashboard'
}
