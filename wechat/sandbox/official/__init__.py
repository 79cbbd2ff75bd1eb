"""The official account (公众号): its accounts, followers and QR codes (`state`), the
message crypto written apart from wechatpy (`crypto`), pushes to its server URL
(`push`), and its API plus the `_/official/` endpoints that play the follower (`views`)."""
