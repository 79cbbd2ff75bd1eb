// Store names for the switcher and lists (GET /api/admin/stores, catalog.read), loaded once.
import { computed, ref } from 'vue'
import { api, unwrap } from '@/api/client'
import { i18n } from '@/i18n'
import { can, session } from './session'

interface StoreName { id: number; name: string; active: boolean }

const stores = ref<StoreName[]>([])
let loaded: Promise<void> | null = null

export function loadStores(): Promise<void> {
  if (!can('catalog.read')) return Promise.resolve()
  loaded ??= unwrap(api.GET('/api/admin/stores')).then((data) => {
    stores.value = (data.items ?? []).map((s) => ({ id: s.id ?? 0, name: s.name ?? '', active: s.active ?? true }))
  }).catch(() => { loaded = null })
  return loaded
}

export function storeName(id: number | null | undefined): string {
  if (id == null) return i18n.global.t('common.allStores')
  return stores.value.find((s) => s.id === id)?.name || i18n.global.t('common.store', { id })
}

/** The stores a staff member may switch between: their own, or every store (null = all)
 * for a role bound to none (admin, analyst). */
export const storeChoices = computed<(number | null)[]>(() => {
  const staff = session.staff
  if (!staff) return []
  if (staff.store_ids.length > 0) return staff.store_ids
  return [null, ...stores.value.filter((s) => s.active).map((s) => s.id)]
})
