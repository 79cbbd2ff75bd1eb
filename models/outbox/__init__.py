"""The outbox: side effects (WeChat messages, shipping-info uploads, staff alerts) written
in the business transaction and delivered after the commit, with retries. The path of a
paid order's message reads straight down this package:

  status change → enqueue (enqueue.py) → commit → kick: the task tihuo.outbox.dispatch →
  dispatch.py (claim, send, record) → registry.py (kind → delivery) → the delivery
  (models.notifications.subscribe, ...) → the WeChat client

  tables.py     the outbox row
  status.py     its transition table
  enqueue.py    enqueue / enqueue_many in the caller's transaction; the kick after commit
  dispatch.py   claim one due row, send it holding no lock, record the outcome; backoff
  delivery.py   what a delivery is (prepare, send, finish) and how an outcome is told
  registry.py   kind → delivery: the one list of what can be delivered
  review.py     what staff see, and their retry
"""
from models.outbox.enqueue import enqueue, enqueue_many, kick_after_commit

__all__ = ["enqueue", "enqueue_many", "kick_after_commit"]
