import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import type { Ability } from '@/auth/abilities'
import { can, ensureSession, session } from '@/auth/session'
import { homeRoute, NAV } from '@/nav'

declare module 'vue-router' {
  interface RouteMeta {
    ability?: Ability
    public?: boolean
    title?: string // i18n key
    menu?: string // the menu entry to highlight, when not the route's own name (a detail page)
  }
}

// Every page is its own chunk: the counter's first load carries only the counter.
const pages: Record<string, () => Promise<unknown>> = {
  dashboard: () => import('@/pages/DashboardPage.vue'),
  counter: () => import('@/pages/CounterPage.vue'),
  orders: () => import('@/pages/OrdersPage.vue'),
  reviews: () => import('@/pages/ReviewsPage.vue'),
  stock: () => import('@/pages/StockPage.vue'),
  catalog: () => import('@/pages/CatalogPage.vue'),
  cards: () => import('@/pages/CardsPage.vue'),
  staff: () => import('@/pages/StaffPage.vue'),
  audit: () => import('@/pages/AuditPage.vue'),
  money: () => import('@/pages/MoneyPage.vue'),
  reports: () => import('@/pages/ReportsPage.vue'),
  coupons: () => import('@/pages/CouponsPage.vue'),
  growth: () => import('@/pages/GrowthPage.vue'),
  complaints: () => import('@/pages/ComplaintsPage.vue'),
  aftersales: () => import('@/pages/AfterSalesPage.vue'),
  partners: () => import('@/pages/PartnersPage.vue'),
}
const queue = () => import('@/pages/QueuePage.vue')
const soon = () => import('@/pages/ComingSoon.vue')

const children: RouteRecordRaw[] = NAV.map((entry) => ({
  path: entry.path,
  name: entry.name,
  component: pages[entry.name] ?? (entry.group === 'queues' ? queue : soon) as never,
  props: entry.group === 'queues' ? { queue: entry.name } : false,
  meta: { ability: entry.ability, title: entry.label },
}))

export const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('@/pages/LoginPage.vue'), meta: { public: true } },
  {
    path: '/',
    component: () => import('@/layouts/ConsoleLayout.vue'),
    children: [
      // Where to land depends on who signed in, known only in the guard (a route's
      // `redirect` is resolved before any guard runs): the guard sends 'home' on.
      { path: '', name: 'home', component: { render: () => null } },
      ...children,
      { path: 'orders/:orderNo', name: 'order', component: () => import('@/pages/OrderDetailPage.vue'), props: true, meta: { ability: 'orders.fulfil', title: 'nav.orders', menu: 'orders' } },
    ],
  },
  { path: '/:rest(.*)*', name: 'notFound', component: () => import('@/pages/NotFound.vue'), meta: { public: true } },
]

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
})

router.beforeEach(async (to) => {
  if (to.meta.public) {
    if (to.name === 'login' && session.staff) return { name: 'home' }
    return true
  }
  let staff = session.staff
  if (!session.checked) {
    try {
      staff = await ensureSession()
    } catch {
      staff = null // the server could not say: sign in again
    }
  }
  if (!staff) return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
  if (to.name === 'home') return { name: homeRoute(staff) }
  if (!can(to.meta.ability)) return { name: homeRoute(staff) } // the menu never offers it; a typed URL lands home
  return true
})

/** After a 401 anywhere: to the login page, back here after signing in. */
export function toLogin(expired: boolean): void {
  const current = router.currentRoute.value
  if (current.name === 'login') return
  void router.replace({
    name: 'login',
    query: { ...(current.meta.public ? {} : { redirect: current.fullPath }), ...(expired ? { expired: '1' } : {}) },
  })
}
