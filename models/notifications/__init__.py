"""Notifications: the outbox dispatcher and what it delivers (mini-program subscribe
messages, shipping-info uploads; staff alerts from the official-account work).

- tables.py     subscribe grants and the message log
- registry.py   kind → delivery (the one list of what the dispatcher can send)
- dispatch.py   claim, send, record: retries with backoff, each row sent at most once
- subscribe.py  grants (POST /api/messages/subscriptions) and the subscribe delivery
- templates.py  which template shows what, per event; rendering values WeChat accepts
- shipping.py   the upload-shipping-info body (§8) built from the order
- review.py     what staff see and retry
"""
