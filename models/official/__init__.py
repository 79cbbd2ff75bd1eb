"""The official account (公众号): staff bindings, inbound messages (今日, order status),
staff alerts as template messages. The protocol itself lives in wechat/official.py."""
