"""WeChat Pay APIv3 for a direct merchant (JSAPI / mini-program). See client.py."""
from wechat.pay.bill import parse_trade_bill, yuan_to_fen
from wechat.pay.client import WeChatPayClient
from wechat.pay.errors import (BillHashMismatch, NotificationRejected, ResponseSignatureInvalid,
                               WeChatPayError, WeChatPayUnavailable)
from wechat.pay.keys import generate_rsa_keypair

__all__ = ["WeChatPayClient", "parse_trade_bill", "yuan_to_fen", "generate_rsa_keypair",
           "WeChatPayError", "WeChatPayUnavailable", "ResponseSignatureInvalid",
           "BillHashMismatch", "NotificationRejected"]
