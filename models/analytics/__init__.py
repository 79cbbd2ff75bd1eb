"""Where the business stands: figures per store × day, kept in rollup tables so a report
costs the days it shows, not the history behind them.

  calendar.py  the business day (Asia/Shanghai) and its UTC bounds
  figures.py   one day's figures per store, computed from the order events and refunds
  tables.py    the rollup rows (store × day) and the days they cover
  rollup.py    (re)building days idempotently; the trailing-window job; the consistency check
  reports.py   a date range for a set of stores: rollups for past days, live figures for today
"""
