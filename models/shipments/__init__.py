"""Parcels: an order's shipments (several parcels, each with its items, outbound and
return) and their tracking by 快递100's pushes.

  tables.py      parcels, their items and carrier events, the staff issue queue
  status.py      the parcel and issue transition tables
  parcels.py     adding parcels (the first ships the order), return parcels, corrections
  tracking.py    a push (or a poll's answer) → events, moves and their effects
  issues.py      the staff queue of parcels in trouble
  deliveries.py  outbox deliveries: 快递100 subscribe, trace_waybill, notify_confirm_receive
  sweep.py       the periodic pass: poll silent parcels, flag 48 h silences, resubscribe
  views.py       the parcels and their timeline as shown
  events.py      signals for other domains (return_signed)
"""
from models.shipments.parcels import add_parcel, add_return_parcel, correct_first_parcel, ship_order

__all__ = ["add_parcel", "add_return_parcel", "correct_first_parcel", "ship_order"]
