"""快递100's side (protocol doc §10): subscriptions (`/poll`), pushes to the callback URL
signed as the real service signs them, the real-time query (`/poll/query.do`), and the
`_/kuaidi100/` endpoints that play the carrier (`views`). State: `state.py`."""
