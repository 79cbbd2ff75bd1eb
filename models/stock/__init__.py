"""Stock per (store, SKU): the counters and their ledger, holds for orders, alert levels,
staff operations, the ledger check and the flash-sale gate.

  tables.py      inventory counters, the movement ledger, level events, replenishment
                 requests, transfers and transfer proposals
  holds.py       an order's holds: reserve / release / deduct (guarded updates + ledger)
  levels.py      alert levels from available vs baseline, and what each level triggers
  admin.py       staff changes: count, restock, adjust, transfer, accept/reject proposals
                 and replenishment requests; a row's ledger (who may read it)
  queries.py     a store's stock, a row's ledger with balances, what shoppers can buy
                 where, the staff alert views
  check.py       the ledger sums to the counters (`flask stock check`)
  flash_sale.py  the Redis gate in front of the database for a crowd
  status.py      the transition tables of replenishment requests and transfer proposals
  errors.py      the refusals, by stable code
"""
