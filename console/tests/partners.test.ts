import { describe, expect, it } from 'vitest'
import { clientProblems, endpointProblems } from '@/admin/partners'

describe('partner forms', () => {
  it('asks for a name and a scope', () => {
    expect(clientProblems({ name: ' ', scopes: [], store_ids: [] })).toEqual(['name', 'scopes'])
    expect(clientProblems({ name: 'ERP', scopes: ['orders:read'], store_ids: [1] })).toEqual([])
  })
  it('takes https endpoints with events only', () => {
    expect(endpointProblems({ url: 'http://erp.example.com/hook', event_types: [] })).toEqual(['url', 'events'])
    expect(endpointProblems({ url: 'https://erp.example.com/hook', event_types: ['order.paid'] })).toEqual([])
  })
})
