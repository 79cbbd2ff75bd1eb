"""The mini-program's side of api.weixin.qq.com: tokens, login and phone codes
(`auth`), subscribe messages (`messages`), unlimited mini-program codes and shipping
uploads (`wxa`), and the `_/` test and demo endpoints that play the user (`inspect`).
Each module's `register(bp, state)` adds its routes (see `wechat.sandbox.app`)."""
