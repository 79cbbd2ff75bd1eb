"""Exports: a date range of orders, order items, payments, refunds, reconciliation
differences, the pickup ledger, the stock ledger, card batches or the daily report, as CSV
(UTF-8 with a BOM, so Excel reads the Chinese) or XLSX.

- `kinds.py`: the registry — each kind's ability, columns (headers in Chinese and English)
  and its keyset-paginated read on an indexed time column; `cells.py`: what a cell holds
  (formula neutralisation, fen and yuan, Asia/Shanghai times); `writers.py`: the two
  formats, a page of rows at a time.
- `streamed.py`: a small export (at most EXPORT_STREAM_MAX_ROWS rows, counted first
  without reading more than that) is answered straight away, streamed as it is read; a
  larger one is refused with 409 `export_too_large`, which tells the client to start a job.
- `jobs.py`: a background export (the task `tihuo.exports.run`): progress (rows done of
  an estimate counted when it starts), a file for the staff member who started it — nobody
  else can see it — until EXPORT_TTL_S passes, then a sweep deletes it.
- Every export is audited with its kind, filters and rows: `export.stream` (rows
  counted when it began), `export.start`, `export.ready` (rows written), `export.download`,
  `export.expire`.

Who may export what: each kind names the ability its rows need (models/staff/abilities.py:
`orders.read` for orders, their items and the pickup ledger, `payments.read` for payments,
refunds and reconciliation differences, `stock.read`, `cards.read`, `reports.read`), and
rows are kept to the stores the staff member reads (`readable_store_ids`), decided when the
export starts and checked again at each download.

**Where a job's file is kept: in the database, encrypted, in chunks** (`export_chunks`,
`storage.py`), not on a disk under instance/. The web workers that serve the download and
the Celery workers that write the file are separate processes and, in production, may be
separate machines: the database is the store both already share (and back up, and
secure), where a local disk would need a shared volume nobody has set up. Each chunk is 1
MiB of the file, AES-256-GCM with the job, the staff member and the chunk's place bound
in (orders and payments are business data; a database dump without FIELD_ENCRYPTION_KEY
shows none of it). Memory stays flat either way round: the writer hands over a chunk as
soon as it is full, the download reads one chunk at a time (each by its primary key); an
XLSX, whose zip directory is written last, is assembled in a temporary file by XlsxWriter
and copied into chunks. The rows themselves come a page at a time (kinds.py).

Lock order: a run touches only its own job row (a guarded update per progress step; the
finish locks it while the last chunks are written) and its own chunks.
"""
