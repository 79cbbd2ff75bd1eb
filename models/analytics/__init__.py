"""Where the business stands: figures per store × day, kept in rollup tables so a report
costs the days it shows, not the history behind them.

  calendar.py  the business day (Asia/Shanghai) and its UTC bounds
  figures.py   one day's figures per store, computed from the order events and refunds
  flow.py      the time each step took (digests, digest.py) and the funnel of a day's orders
  products.py  a day's units, GMV and refunds per SKU (amounts split exactly over the lines)
  bottlenecks.py  p50/p90 per step and store, the stores where a step is stuck, their alerts
  stockouts.py how long a SKU sat closed for online ordering, and its alerts
  tables.py    the rollup rows (store × day; step digests; funnel; SKU) and the days built
  rollup.py    (re)building days idempotently; the trailing-window job; the consistency check
  reports.py   a date range for a set of stores: rollups for past days, live figures for today
"""
