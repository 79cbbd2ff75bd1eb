"""Signals other domains connect to (blinker): shipments know nothing of after-sales.

`return_signed`: a return parcel was signed for at our end. Sent with sender None and
keyword arguments `after_sale_no` (str) and `at` (aware UTC datetime), inside the
transaction that recorded it: a receiver's writes commit or roll back with it."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

return_signed = _signals.signal("return-signed")
