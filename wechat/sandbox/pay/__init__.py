"""WeChat Pay APIv3 (api.mch.weixin.qq.com): the merchants, orders and refunds
(`state`, `models`), the platform's signing keys (`platform`), the crypto (`crypto`),
field rules (`validate`), the trade bill (`bill`), notifications (`notify`), the APIv3
endpoints (`views`) and the `_/pay/` endpoints that play the payer (`inspect`)."""
