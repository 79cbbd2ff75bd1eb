"""What the outbox delivers to shoppers and to WeChat (the dispatcher itself is
models/outbox): mini-program subscribe messages and shipping-info uploads. Staff alerts
are models/official/alerts.py.

- tables.py     subscribe grants and the message log
- status.py     the message log's transition table
- subscribe.py  grants (POST /api/messages/subscriptions) and the subscribe delivery
- templates.py  which template shows what, per event; rendering values WeChat accepts
- shipping.py   the upload-shipping-info body (§8) built from the order
"""
