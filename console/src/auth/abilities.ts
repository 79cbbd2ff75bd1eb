// The abilities of models/staff/abilities.py (the one permission table). The session
// answer lists the signed-in staff member's; the console offers a page, a menu entry or
// an action only when the staff member has the ability its API calls need.

export const ABILITIES = [
  'session.own', 'catalog.read', 'stores.write', 'catalog.write',
  'stock.read', 'stock.write', 'stock.transfer', 'stock.flash_sale',
  'orders.read', 'orders.fulfil', 'orders.cancel', 'parcels.issues', 'refunds.create',
  'complaints.read', 'complaints.handle',
  'pickups.verify', 'pickups.review', 'pickups.reissue', 'pickups.extend',
  'cards.read', 'cards.write', 'cards.export', 'cards.review',
  'payments.read', 'payments.resolve', 'outbox.read', 'outbox.retry',
  'staff.read', 'staff.write', 'audit.read', 'reports.read', 'growth.read', 'growth.write',
  'aftersales.read', 'aftersales.decide', 'aftersales.receive', 'aftersales.arbitrate',
  'partners.read', 'partners.write',
] as const

export type Ability = (typeof ABILITIES)[number]

export interface HasAbilities {
  abilities: readonly string[]
}

export function can(staff: HasAbilities | null | undefined, ability: Ability | undefined): boolean {
  if (ability === undefined) return staff != null
  return staff != null && staff.abilities.includes(ability)
}
