// The partner page's rules, as the API checks them (models/partners): said before sending,
// so a slip is caught at the form; the server still decides.

export const SCOPES = ['catalog:read', 'stock:read', 'stock:write', 'orders:read', 'orders:write',
  'aftersales:read', 'reports:read', 'webhooks:manage'] as const

export const EVENT_TYPES = ['order.created', 'order.paid', 'order.ready', 'order.picked_up', 'order.shipped',
  'order.delivered', 'order.cancelled', 'order.refunded', 'stock.level_changed', 'stock.adjusted',
  'card.redeemed'] as const

export interface ClientForm { name: string; scopes: string[]; store_ids: number[] }
export interface EndpointForm { url: string; event_types: string[] }

/** i18n keys (under partners.invalid) of what is wrong with a client's form. */
export function clientProblems(form: ClientForm): string[] {
  const problems: string[] = []
  if (!form.name.trim() || form.name.trim().length > 64) problems.push('name')
  if (!form.scopes.length) problems.push('scopes')
  return problems
}

/** https only (the API also lets a test deployment use http on loopback). */
export function endpointProblems(form: EndpointForm): string[] {
  const problems: string[] = []
  if (!/^https:\/\/[^\s/]+/i.test(form.url.trim())) problems.push('url')
  if (!form.event_types.length) problems.push('events')
  return problems
}
