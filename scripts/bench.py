"""Load benchmark: Tihuo under gunicorn on MariaDB + Redis + the WeChat sandbox, on loopback.

    .venv/bin/python scripts/bench.py [--duration 10] [--concurrency 8] [--json out.json]

Starts everything itself (fresh `tihuo_bench` database, Redis db 14 flushed, WeChat sandbox,
`flask db upgrade` + `flask demo seed`, gunicorn gthread), drives one endpoint at a time with
--concurrency keep-alive clients for --warmup + --duration seconds, times each request of the
timed window, and always stops everything and drops the database (also on Ctrl-C / errors).

Scenarios (SCENARIOS below; a new flow is a new entry):
  healthz   GET /healthz: gunicorn + Flask alone. Always measured first: the baseline.
  products  GET /api/products?store_id=<first store>: the shopper's catalog page.
  login     POST /api/auth/login with a fresh wx.login code (code2session at the sandbox,
            user upsert, token). Codes are issued before the timed phase (never timed),
            sized by a 1 s untimed probe; openids cycle through 200 users, so the timed
            phase measures returning shoppers.
  order_spread / order_hot   POST /api/orders, one unit of one of 200 SKUs / of one SKU.
  order_floor   POST /floor/orders as order_spread: a bare Flask endpoint doing only the
            order's SQL (scripts/bench_floor.py, served beside the app in runs that include
            this scenario): the floor issue 3's target is set against.
  flash / flash_soldout      POST /api/orders on a flash-sale SKU with stock / sold out.
  notify / notify_dup        POST /wechat/pay/notify: a distinct payment for a distinct
            unpaid order each time / the same, already applied payment again and again.
            The bench plays WeChat Pay (it holds the platform key the app trusts).
  partner_orders   GET /api/partner/v1/orders?limit=20: a partner's page of orders changed
            since the start (200 orders placed before the timed phase; an OAuth2 token from
            POST /oauth/token, the client's budget raised out of the way).
  partner_adjust   POST /api/partner/v1/stores/<order store>/stock/adjustments: one delta
            line on one of the 200 SKUs, a fresh Idempotency-Key each time.
  preview / verify   POST /api/staff/pickups/preview / verify by a clerk of the order store:
            preview of one of 50 ready orders again and again / the hand-over of a distinct
            ready order each time (placed, paid by notify, marked ready, its code read by
            its shopper — all before the timed phase).
  coupon_claim   POST /api/coupons/<id>/claim: one template everybody claims (its count is
            one row every claim updates: the limit's guard).
  order_coupon   POST /api/orders as order_spread (2 units) with one of the shopper's
            coupons (claimed before the timed phase) and 100 points: the discount planned,
            split, the coupon locked and the points spent in the order's transaction.
            Compare with order_spread (issue 21: ≥ 0.8 of it).
  carrier_push   POST /callbacks/kuaidi100/<parcel token>: 快递100 pushing a parcel's trace,
            one node longer each time (the whole trace, newest first, signed
            UPPER(MD5(param + salt)) as §10.2 says), in transit; parcels of delivery orders
            placed, paid by notify and shipped by the clerk before the timed phase, their
            subscriptions sent to the sandbox by an outbox pass, whose record gives the bench
            each parcel's callback URL and salt (the bench plays 快递100).

Reading the ratios: the client shares the CPU with the server, so absolute req/s mean little
beyond this machine; the ratios to /healthz of the same run are what compare across runs.
  x rps      rps / healthz rps: 0.25 means the endpoint costs ~4x the bare framework.
  x p50/p99  latency / healthz latency: how much slower a typical / tail request is.
Any non-2xx answer or failed connection is an error; a run with errors says so and exits 1.
"""
from __future__ import annotations

import argparse, base64, collections, hashlib, http.client, json, math, os, random, secrets, shutil, signal
import socket, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DB_NAME = "tihuo_bench"
LOGIN_USERS = 200


class Http:
    """One keep-alive connection (http.client: much less client CPU than requests)."""

    def __init__(self, base: str, timeout: float = 10.0):
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def raw(self, method: str, path: str, data: bytes, headers: dict) -> tuple[int, bytes]:
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            return resp.status, resp.read()
        except Exception:
            self.conn.close()
            raise

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        try:
            self.conn.request(method, path, body=data,
                              headers={**({"Content-Type": "application/json"} if data else {}),
                                       **(headers or {})})
            resp = self.conn.getresponse()
            return resp.status, resp.read()
        except Exception:
            self.conn.close()  # reconnects on the next call
            raise


@dataclass
class Context:
    base: str     # the app
    sandbox: str  # the WeChat sandbox
    store_id: int = 0        # products listing (the demo catalog)
    order_store_id: int = 0  # orders (bench SKUs, kept out of the listing above)
    codes: collections.deque = field(default_factory=collections.deque)
    shoppers: list = field(default_factory=list)     # bearer headers
    spread_skus: list = field(default_factory=list)  # 200 SKUs with ample stock
    hot_sku: int = 0                                 # one SKU everybody buys
    flash_sku: int = 0                               # flash-sale mode, ample stock
    soldout_sku: int = 0                             # flash-sale mode, nothing left
    wechatpay: "FakeWeChatPay | None" = None         # signs notifications as WeChat Pay
    notifications: collections.deque = field(default_factory=collections.deque)
    duplicate: tuple | None = None
    clerk: dict = field(default_factory=dict)                   # a clerk of the order store
    pickup_codes: collections.deque = field(default_factory=collections.deque)  # ready, to verify
    preview_codes: list = field(default_factory=list)           # ready, previewed again and again
    admin: dict = field(default_factory=dict)                   # the demo admin's bearer headers
    coupon_template: int = 0                                    # claimable without limit (coupon_claim)
    coupons: collections.deque = field(default_factory=collections.deque)  # (headers, coupon id), unused
    pushes: collections.deque = field(default_factory=collections.deque)  # (path, form body), in order
    env: dict = field(default_factory=dict)                      # the app's environment (for a CLI pass)
    partner: dict = field(default_factory=dict)                 # a partner's bearer token


class Exhausted(Exception):  # a scenario used up what its `prepare` made
    pass


@dataclass
class Scenario:
    request: Callable[[Context, Http], tuple[int, bytes]]
    prepare: Callable[[Context, int], None] | None = None  # make >= n requests possible


def login(ctx: Context, http: Http):
    try:
        code = ctx.codes.popleft()
    except IndexError:
        raise Exhausted from None
    return http.call("POST", "/api/auth/login", {"code": code})


def issue_codes(ctx: Context, n: int, threads: int = 4) -> None:
    """Top the queue up to n wx.login codes (single-use, valid 5 minutes at the sandbox)."""
    first = len(ctx.codes)

    def work(offset: int) -> None:
        http = Http(ctx.sandbox)
        for i in range(first + offset, n, threads):
            status, body = http.call("POST", "/_/login-codes", {"user": f"bench-{i % LOGIN_USERS}"})
            if status != 200:
                raise RuntimeError(f"sandbox /_/login-codes: {status} {body[:200]!r}")
            ctx.codes.append(json.loads(body)["code"])
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))  # re-raises a worker's exception


def order(pick_sku: Callable[[Context], int], path: str = "/api/orders"):
    """POST /api/orders for one unit of pick_sku(ctx), as one of the prepared shoppers."""
    def request(ctx: Context, http: Http):
        headers = random.choice(ctx.shoppers)
        body = {"store_id": ctx.order_store_id, "fulfillment": "pickup",
                "items": [{"sku_id": pick_sku(ctx), "qty": 1}]}
        return http.call("POST", path, body, headers)
    return request


def claim_coupon(ctx: Context, http: Http):
    return http.call("POST", f"/api/coupons/{ctx.coupon_template}/claim", None, random.choice(ctx.shoppers))


def order_with_coupon(ctx: Context, http: Http):
    """POST /api/orders with a coupon of the shopper's (¥0.50 off) and 100 points (¥1 off)."""
    try:
        headers, coupon_id = ctx.coupons.popleft()
    except IndexError:
        raise Exhausted from None
    body = {"store_id": ctx.order_store_id, "fulfillment": "pickup", "coupon_id": coupon_id, "points": 100,
            "items": [{"sku_id": random.choice(ctx.spread_skus), "qty": 2}]}
    return http.call("POST", "/api/orders", body, headers)


def prepare_coupons(ctx: Context, n: int, threads: int = 8) -> None:
    """Top the pool up to n coupons claimed by the shoppers (through the claim API)."""
    first = len(ctx.coupons)

    def work(offset: int) -> None:
        http = Http(ctx.base)
        for i in range(first + offset, n, threads):
            headers = ctx.shoppers[i % len(ctx.shoppers)]
            status, body = http.call("POST", f"/api/coupons/{ctx.coupon_template}/claim", None, headers)
            if status != 201:
                raise RuntimeError(f"claim: {status} {body[:200]!r}")
            ctx.coupons.append((headers, json.loads(body)["id"]))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))


def soldout(ctx: Context, http: Http):
    status, body = order(lambda c: c.soldout_sku)(ctx, http)
    return (200 if status == 409 else status), body  # the expected answer: sold out at the gate


class FakeWeChatPay:
    """Plays WeChat Pay's side of a notification: the bench holds the platform key the app
    trusts (WECHATPAY_PUBLIC_KEY_*), signs `ts\nnonce\nbody\n` and AES-GCM-encrypts the
    transaction with the APIv3 key, exactly as §4.7 says. Pure pycryptodome, independent
    of the app's wechat/pay code."""

    def __init__(self, mchid: str, appid: str):
        from Crypto.PublicKey import RSA

        self.key, self.mchid, self.appid = RSA.generate(2048), mchid, appid
        self.apiv3_key, self.key_id = secrets.token_hex(16), "PUB_KEY_ID_" + "0" * 14 + "1" * 20

    def notification(self, order_no: str, total_fen: int, transaction_id: str) -> tuple[dict, bytes]:
        from Crypto.Cipher import AES
        from Crypto.Hash import SHA256
        from Crypto.Signature import pkcs1_15

        tx = {"mchid": self.mchid, "appid": self.appid, "out_trade_no": order_no,
              "transaction_id": transaction_id, "trade_type": "JSAPI", "trade_state": "SUCCESS",
              "bank_type": "OTHERS", "success_time": time.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
              "payer": {"openid": "o-bench"}, "amount": {"total": total_fen, "payer_total": total_fen,
                                                         "currency": "CNY", "payer_currency": "CNY"}}
        nonce = secrets.token_hex(6)
        cipher = AES.new(self.apiv3_key.encode(), AES.MODE_GCM, nonce=nonce.encode())
        cipher.update(b"transaction")
        ct, tag = cipher.encrypt_and_digest(json.dumps(tx).encode())
        body = json.dumps({"id": "EV-" + transaction_id, "create_time": tx["success_time"],
                           "event_type": "TRANSACTION.SUCCESS", "resource_type": "encrypt-resource",
                           "summary": "支付成功", "resource": {
                               "original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                               "ciphertext": base64.b64encode(ct + tag).decode(),
                               "associated_data": "transaction", "nonce": nonce}}).encode()
        ts, sig_nonce = str(int(time.time())), secrets.token_hex(16)
        digest = SHA256.new(f"{ts}\n{sig_nonce}\n".encode() + body + b"\n")
        signature = base64.b64encode(pkcs1_15.new(self.key).sign(digest)).decode()
        return {"Content-Type": "application/json", "Wechatpay-Timestamp": ts, "Wechatpay-Nonce": sig_nonce,
                "Wechatpay-Signature": signature, "Wechatpay-Serial": self.key_id,
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}, body


def notify(ctx: Context, http: Http):
    try:
        headers, body = ctx.notifications.popleft()
    except IndexError:
        raise Exhausted from None
    return http.raw("POST", "/wechat/pay/notify", body, headers)


def notify_duplicate(ctx: Context, http: Http):
    headers, body = ctx.duplicate
    return http.raw("POST", "/wechat/pay/notify", body, headers)


def prepare_notifications(ctx: Context, n: int) -> None:
    """Unpaid orders, and WeChat Pay's notification for each (one distinct payment apiece)."""
    http = Http(ctx.base)
    while len(ctx.notifications) < n:
        status, body = order(lambda c: random.choice(c.spread_skus))(ctx, http)
        if status != 201:
            raise RuntimeError(f"placing an order for the notify bench: {status} {body[:200]!r}")
        placed = json.loads(body)
        ctx.notifications.append(ctx.wechatpay.notification(
            placed["order_no"], placed["payable_fen"], "42" + secrets.token_hex(14)[:26]))
    if ctx.duplicate is None:  # one payment, already applied, sent again and again
        headers, body = ctx.notifications.popleft()
        assert http.raw("POST", "/wechat/pay/notify", body, headers)[0] == 204
        ctx.duplicate = (headers, body)


def staff_call(path: str):
    """POST a pickup code to a staff pickup endpoint as the bench clerk."""
    def request(ctx: Context, http: Http):
        if path == "/api/staff/pickups/verify":
            try:
                code = ctx.pickup_codes.popleft()
            except IndexError:
                raise Exhausted from None
        else:
            code = random.choice(ctx.preview_codes)
        return http.call("POST", path, {"code": code}, {**ctx.clerk, "X-Device-Id": "bench-till"})
    return request


def ready_codes(ctx: Context, n: int, threads: int = 4) -> list[str]:
    """n pickup orders placed, paid (a notify), made ready by the clerk; their codes as
    their shoppers see them."""
    out: list[str] = []

    def work(count: int) -> None:
        http = Http(ctx.base)
        for _ in range(count):
            shopper = random.choice(ctx.shoppers)
            body = {"store_id": ctx.order_store_id, "fulfillment": "pickup",
                    "items": [{"sku_id": random.choice(ctx.spread_skus), "qty": 1}]}
            status, placed = http.call("POST", "/api/orders", body, shopper)
            placed = json.loads(placed)
            headers, note = ctx.wechatpay.notification(placed["order_no"], placed["payable_fen"],
                                                       "42" + secrets.token_hex(14)[:26])
            steps = [http.raw("POST", "/wechat/pay/notify", note, headers),
                     http.call("POST", f"/api/staff/orders/{placed['order_no']}/ready", None, ctx.clerk)]
            status, shown = http.call("GET", f"/api/orders/{placed['order_no']}/pickup", None, shopper)
            if status != 200 or any(s >= 300 for s, _ in steps):
                raise RuntimeError(f"preparing a ready order: {status} {shown[:200]!r} {steps}")
            out.append(json.loads(shown)["code"])
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, [n // threads + (i < n % threads) for i in range(threads)]))
    return out


def prepare_verify(ctx: Context, n: int) -> None:
    if len(ctx.pickup_codes) < n:
        ctx.pickup_codes.extend(ready_codes(ctx, n - len(ctx.pickup_codes)))


def prepare_preview(ctx: Context, n: int) -> None:
    if not ctx.preview_codes:
        ctx.preview_codes = ready_codes(ctx, 50)


PUSHES_PER_PARCEL = 30  # a parcel's trace grows one node per push, up to this many


def prepare_pushes(ctx: Context, n: int, threads: int = 4) -> None:
    """Top the queue up to n 快递100 pushes: shipped parcels (placed, paid by notify,
    shipped by the clerk), subscribed at the sandbox by one outbox pass, then each parcel's
    pushes signed with the salt the sandbox was given. Round-robin over the parcels, so
    concurrent clients rarely push the same parcel at once (they may: that is allowed)."""
    from urllib.parse import urlencode

    if len(ctx.pushes) >= n:
        return
    # Twice what was asked: the 1 s probe that sizes n runs cold (first pushes of a
    # parcel), and more parcels cost only setup time.
    parcels = math.ceil(2 * (n - len(ctx.pushes)) / PUSHES_PER_PARCEL)
    numbers: list[str] = []

    def work(count: int) -> None:
        http = Http(ctx.base)
        for _ in range(count):
            shopper = random.choice(ctx.shoppers)
            body = {"store_id": ctx.order_store_id, "fulfillment": "delivery", "address": BENCH_ADDRESS,
                    "items": [{"sku_id": random.choice(ctx.spread_skus), "qty": 1}]}
            status, placed = http.call("POST", "/api/orders", body, shopper)
            placed = json.loads(placed)
            headers, note = ctx.wechatpay.notification(placed["order_no"], placed["payable_fen"],
                                                       "42" + secrets.token_hex(14)[:26])
            number = "SF" + secrets.token_hex(6).upper()
            steps = [http.raw("POST", "/wechat/pay/notify", note, headers),
                     http.call("POST", f"/api/staff/orders/{placed['order_no']}/ship",
                               {"carrier": "SF", "tracking_no": number}, ctx.clerk)]
            if status != 201 or any(s >= 300 for s, _ in steps):
                raise RuntimeError(f"preparing a shipped order: {status} {steps}")
            numbers.append(number)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, [parcels // threads + (i < parcels % threads) for i in range(threads)]))
    # The outbox pass a worker would run: 快递100 subscriptions (and the rest) sent.
    done = subprocess.run([sys.executable, "-c", "from app import create_app\n"
                           "from models.outbox.dispatch import dispatch_due\n"
                           "app = create_app()\nwith app.app_context(): print(dispatch_due(limit=1_000_000))"],
                          cwd=ROOT, env=ctx.env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the outbox pass failed:\n{done.stdout}{done.stderr}")
    subs = {s["number"]: s for s in json.loads(Http(ctx.sandbox).call("GET", "/_/kuaidi100/subscriptions")[1])
            ["subscriptions"]}
    traces = []
    for number in numbers:
        sub = subs[number]
        path = "/" + sub["callbackurl"].split("/", 3)[3]
        start, nodes = time.time() - 3 * 86400, []
        pushes = []
        for k in range(PUSHES_PER_PARCEL):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start + k * 600))
            nodes.insert(0, {"context": f"【上海市】快件已到达 转运中心{k}", "time": when, "ftime": when,
                             "status": "在途", "areaCode": "310000000000", "areaName": "上海市"})
            param = json.dumps({"status": "polling", "billstatus": "got", "message": "", "autoCheck": "0",
                                "comOld": "", "comNew": "", "lastResult": {
                                    "message": "ok", "state": "0", "status": "200", "condition": "F00",
                                    "ischeck": "0", "com": "shunfeng", "nu": number, "data": list(nodes)}},
                               ensure_ascii=False)
            sign = hashlib.md5((param + sub["salt"]).encode()).hexdigest().upper()
            pushes.append((path, urlencode({"param": param, "sign": sign}).encode()))
        traces.append(pushes)
    for k in range(PUSHES_PER_PARCEL):
        ctx.pushes.extend(trace[k] for trace in traces)


def carrier_push(ctx: Context, http: Http):
    try:
        path, body = ctx.pushes.popleft()
    except IndexError:
        raise Exhausted from None
    status, answer = http.raw("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
    if status == 200 and b'"returnCode":"200"' not in answer.replace(b" ", b""):
        status = 422  # refused by its answer (result false): an error for the bench
    return status, answer


BENCH_ADDRESS = {"name": "张三", "phone": "13812345678", "province": "上海市", "city": "上海市",
                 "district": "静安区", "detail": "南京西路1号"}


def setup_orders(ctx: Context) -> None:
    """Shoppers (through the real login), and SKUs at the order store with stock the run can't exhaust:
    200 spread SKUs, one hot SKU, one flash-sale SKU, one flash-sale SKU with none left."""
    http = Http(ctx.base)
    issue_codes(ctx, 64)
    shopper_ids = []
    for _ in range(64):
        status, body = http.call("POST", "/api/auth/login", {"code": ctx.codes.popleft()})
        ctx.shoppers.append({"Authorization": f"Bearer {json.loads(body)['token']}"})
        shopper_ids.append(json.loads(body)["user"]["id"])
    status, body = http.call("POST", "/api/staff/login", {"username": "admin", "password": "tihuo-admin-demo"})
    admin = ctx.admin = {"Authorization": f"Bearer {json.loads(body)['token']}"}
    skus = []
    for batch in range(3):
        specs = [{"spec": f"s{batch}-{i}", "price_fen": 100 + i} for i in range(100 if batch < 2 else 3)]
        status, body = http.call("POST", "/api/admin/products", {"name": f"bench {batch}", "skus": specs}, admin)
        skus += [s["id"] for s in json.loads(body)["skus"]]
    for sku_id in skus:
        on_hand = 0 if sku_id == skus[-1] else 5_000_000
        http.call("PUT", f"/api/admin/stores/{ctx.order_store_id}/inventory/{sku_id}", {"on_hand": on_hand}, admin)
    ctx.spread_skus, ctx.hot_sku, ctx.flash_sku, ctx.soldout_sku = skus[:200], skus[200], skus[201], skus[202]
    for sku_id in (ctx.flash_sku, ctx.soldout_sku):
        http.call("PUT", f"/api/admin/stores/{ctx.order_store_id}/inventory/{sku_id}/flash-sale", {"enabled": True}, admin)
    clerk = {"username": "bench-clerk", "password": "bench-clerk-pw", "role": "clerk",
             "store_ids": [ctx.order_store_id]}
    http.call("POST", "/api/admin/staff", clerk, admin)
    status, body = http.call("POST", "/api/staff/login", {"username": clerk["username"], "password": clerk["password"]})
    ctx.clerk = {"Authorization": f"Bearer {json.loads(body)['token']}"}
    # Growth: a coupon anybody may claim without limit (¥0.50 off), and points for every shopper.
    status, body = http.call("POST", "/api/admin/coupon-templates", {
        "name": "bench", "kind": "fixed", "amount_fen": 50, "valid_days": 30, "per_user_limit": 1000,
        "channels": ["claim"]}, admin)
    ctx.coupon_template = json.loads(body)["id"]
    for user_id in shopper_ids:
        http.call("POST", "/api/admin/points/grants", {"user_id": user_id, "points": 1_000_000},
                  {**admin, "Idempotency-Key": f"bench-points-{user_id}"})


def setup_partner(ctx: Context, n: int) -> None:
    """A partner client of the order store (every scope), its token, and 200 orders to list."""
    if ctx.partner:
        return
    http = Http(ctx.base)
    status, body = http.call("POST", "/api/staff/login", {"username": "admin", "password": "tihuo-admin-demo"})
    admin = {"Authorization": f"Bearer {json.loads(body)['token']}"}
    status, body = http.call("POST", "/api/admin/partners/clients", {
        "name": "bench ERP", "store_ids": [ctx.order_store_id],
        "scopes": ["orders:read", "orders:write", "stock:read", "stock:write"]}, admin)
    made = json.loads(body)
    basic = base64.b64encode(f"{made['client_id']}:{made['client_secret']}".encode()).decode()
    status, body = http.raw("POST", "/oauth/token", b"grant_type=client_credentials",
                            {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"/oauth/token: {status} {body[:200]!r}")
    ctx.partner = {"Authorization": f"Bearer {json.loads(body)['access_token']}"}
    for i in range(200):
        http.call("POST", "/api/orders", {"store_id": ctx.order_store_id, "fulfillment": "pickup",
                                          "items": [{"sku_id": ctx.spread_skus[i], "qty": 1}]}, ctx.shoppers[i % 64])
    time.sleep(1.1)  # past the feed's settle window (PARTNER_FEED_SETTLE_S=1 below)


def partner_adjust(ctx: Context, http: Http):
    body = {"lines": [{"sku_id": random.choice(ctx.spread_skus), "delta": 1, "reason": "received"}]}
    return http.call("POST", f"/api/partner/v1/stores/{ctx.order_store_id}/stock/adjustments", body,
                     {**ctx.partner, "Idempotency-Key": secrets.token_hex(16)})


SCENARIOS: dict[str, Scenario] = {
    "healthz": Scenario(lambda ctx, http: http.call("GET", "/healthz")),
    "products": Scenario(lambda ctx, http: http.call("GET", f"/api/products?store_id={ctx.store_id}")),
    "login": Scenario(login, prepare=issue_codes),
    "order_spread": Scenario(order(lambda ctx: random.choice(ctx.spread_skus))),
    "order_hot": Scenario(order(lambda ctx: ctx.hot_sku)),
    "order_floor": Scenario(order(lambda ctx: random.choice(ctx.spread_skus), path="/floor/orders")),
    "flash": Scenario(order(lambda ctx: ctx.flash_sku)),
    "flash_soldout": Scenario(soldout),
    "notify": Scenario(notify, prepare=prepare_notifications),
    "notify_dup": Scenario(notify_duplicate, prepare=lambda ctx, n: prepare_notifications(ctx, 1)),
    "preview": Scenario(staff_call("/api/staff/pickups/preview"), prepare=prepare_preview),
    "verify": Scenario(staff_call("/api/staff/pickups/verify"), prepare=prepare_verify),
    "coupon_claim": Scenario(claim_coupon),
    "order_coupon": Scenario(order_with_coupon, prepare=prepare_coupons),
    "carrier_push": Scenario(carrier_push, prepare=prepare_pushes),
    "partner_orders": Scenario(lambda ctx, http: http.call("GET", "/api/partner/v1/orders?limit=20", None, ctx.partner),
                               prepare=setup_partner),
    "partner_adjust": Scenario(partner_adjust, prepare=setup_partner),
}
ORDER_SCENARIOS = {"order_floor", "order_spread", "order_hot", "flash", "flash_soldout", "notify", "notify_dup",
                   "preview", "verify", "coupon_claim", "order_coupon", "carrier_push", "partner_orders",
                   "partner_adjust"}


def run_load(ctx: Context, name: str, warmup: float, duration: float, concurrency: int) -> dict:
    """`concurrency` clients for warmup + duration seconds; latencies of the timed window only."""
    request, lat, errors, samples = SCENARIOS[name].request, [], collections.Counter(), []
    exhausted, lock = threading.Event(), threading.Lock()
    start = time.perf_counter() + 0.2
    t0, t1 = start + warmup, start + warmup + duration

    def client() -> None:
        http, mine, bad = Http(ctx.base), [], []
        while time.perf_counter() < start:
            time.sleep(0.005)
        while (now := time.perf_counter()) < t1:
            try:
                status, body = request(ctx, http)
                err = None if 200 <= status < 300 else f"HTTP {status}"
            except Exhausted:
                exhausted.set()
                break
            except Exception as exc:
                err, body = type(exc).__name__, str(exc).encode()
            if now >= t0:
                mine.append(time.perf_counter() - now)
                if err:
                    bad.append((err, body[:300].decode(errors="replace").strip()))
        with lock:
            lat.extend(mine)
            errors.update(err for err, _ in bad)
            for sample in dict.fromkeys(f"{err}: {body}" for err, body in bad):  # distinct ones
                if len(samples) < 5 and sample not in samples:
                    samples.append(sample)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda _: client(), range(concurrency)))
    lat.sort()
    pct = lambda p: lat[math.ceil(p * len(lat)) - 1] * 1000 if lat else float("nan")
    return {"endpoint": name, "requests": len(lat), "errors": sum(errors.values()),
            "error_kinds": dict(errors), "error_samples": samples, "exhausted": exhausted.is_set(),
            "rps": len(lat) / duration, "p50_ms": pct(0.50), "p99_ms": pct(0.99)}


def prepare(ctx: Context, name: str, args, healthz_rps: float) -> None:
    """Size the scenario's inputs by a 1 s untimed probe (capped by the healthz rate)."""
    cap = math.ceil(healthz_rps * (args.warmup + args.duration + 1) * 1.2)
    t = time.monotonic()
    SCENARIOS[name].prepare(ctx, min(cap, 100 * args.concurrency))
    probe = run_load(ctx, name, 0, 1.0, args.concurrency)
    rate = healthz_rps if probe["exhausted"] else probe["rps"]
    n = min(cap, math.ceil(rate * (args.warmup + args.duration) * 1.5) + 20 * args.concurrency)
    SCENARIOS[name].prepare(ctx, n)
    print(f"  {name}: probe {probe['rps']:.0f} req/s; prepared {n} requests in "
          f"{time.monotonic() - t:.1f}s", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(procs: list, cmd: list[str], env: dict, log: Path, ready_url: str, timeout: float = 60) -> None:
    """Start cmd (output to log; into procs at once, for cleanup), wait for GET ready_url == 200."""
    with log.open("w") as out:
        procs.append(proc := subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
    base, _, path = ready_url.partition("/")
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if Http(base, timeout=2).call("GET", "/" + path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{Path(cmd[0]).name} not ready at {ready_url}:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def print_table(results: list[dict]) -> None:
    base = results[0]  # healthz
    ratio = lambda r, k: r[k] / base[k] if base[k] else float("nan")
    print(f"\n{'endpoint':<10}{'requests':>9}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'x rps':>8}{'x p50':>8}{'x p99':>8}")
    for r in results:
        print(f"{r['endpoint']:<10}{r['requests']:>9}{r['errors']:>8}{r['rps']:>9.1f}{r['p50_ms']:>9.2f}"
              f"{r['p99_ms']:>9.2f}{ratio(r, 'rps'):>8.2f}{ratio(r, 'p50_ms'):>8.2f}{ratio(r, 'p99_ms'):>8.2f}")
    for r in results:
        if r["errors"] or r["exhausted"]:
            print(f"\n!!! {r['endpoint']}:" + (f" {r['errors']} ERRORS {r['error_kinds']}" if r["errors"] else "")
                  + (" RAN OUT OF PREPARED INPUTS (timed window cut short)" if r["exhausted"] else ""))
            print("".join(f"      {s}\n" for s in r["error_samples"]), end="")


def app_env(ctx: Context, logs: Path, database_url: str, redis_url: str) -> dict:
    """The environment of the app's processes for a run (web nodes, workers, flask
    commands): development mode against the sandbox, fresh WeChat keys, and the bench
    playing WeChat Pay (ctx.wechatpay, which signs the notifications the app trusts)."""
    appid, secret = "wx" + secrets.token_hex(8), secrets.token_hex(16)
    (logs / "prom").mkdir(exist_ok=True)  # as app/metrics.py asks under gunicorn: metrics shared by workers
    env = {**os.environ, "APP_ENV": "development", "FLASK_APP": "wsgi", "LOG_LEVEL": "WARNING",
           "DATABASE_URL": database_url,
           "REDIS_URL": redis_url, "WECHAT_APPID": appid, "WECHAT_SECRET": secret,
           "WECHAT_API_BASE": f"http://{ctx.sandbox}", "WECHAT_SANDBOX": "0",
           "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
           "SECRET_KEY": secrets.token_urlsafe(48), "PUBLIC_BASE_URL": f"http://{ctx.base}",
           "PROMETHEUS_MULTIPROC_DIR": str(logs / "prom"),
           # As in production: the web only publishes deferred work and outbox kicks to the
           # broker (no worker runs here; the db is flushed after the run).
           "CELERY_BROKER_URL": redis_url,
           # The partner scenarios measure the API, not the client's budget (it has its own test).
           "PARTNER_RATE_PER_S": "1000000", "PARTNER_RATE_BURST": "1000000", "PARTNER_FEED_SETTLE_S": "1"}
    # WeChat Pay: the bench plays the platform (it signs the notifications); the merchant
    # key is made for this run and only needed for the app to start.
    ctx.wechatpay = FakeWeChatPay("1900000109", appid)
    from Crypto.PublicKey import RSA
    (logs / "merchant.pem").write_bytes(RSA.generate(2048).export_key(pkcs=8))
    (logs / "platform.pem").write_bytes(ctx.wechatpay.key.public_key().export_key())
    env.update(WECHATPAY_MCHID=ctx.wechatpay.mchid, WECHATPAY_CERT_SERIAL=secrets.token_hex(20).upper(),
               WECHATPAY_PRIVATE_KEY_PATH=str(logs / "merchant.pem"), WECHATPAY_APIV3_KEY=ctx.wechatpay.apiv3_key,
               WECHATPAY_PUBLIC_KEY_PATH=str(logs / "platform.pem"), WECHATPAY_PUBLIC_KEY_ID=ctx.wechatpay.key_id,
               WECHATPAY_API_BASE=f"http://{ctx.sandbox}", WECHATPAY_NOTIFY_BASE=f"http://{ctx.base}",
               # 快递100 at the sandbox (its default account); pushes are the bench's own.
               KUAIDI100_KEY="sandboxKuaidi100Key", KUAIDI100_CUSTOMER="SANDBOXCUSTOMER0000000000000000",
               KUAIDI100_API_BASE=f"http://{ctx.sandbox}")
    ctx.env = env
    return env


def start_sandbox(procs: list, ctx: Context, env: dict, logs: Path) -> None:
    """The WeChat sandbox at ctx.sandbox, knowing the app's appid (app_env)."""
    spawn(procs, [sys.executable, "-m", "wechat.sandbox", "--host", "127.0.0.1", "--port",
                  ctx.sandbox.rsplit(":", 1)[1], "--app", f"{env['WECHAT_APPID']}:{env['WECHAT_SECRET']}"],
          env, logs / "sandbox.log", f"{ctx.sandbox}/_/config")


def migrate_and_seed(env: dict) -> None:
    for cmd in (["db", "upgrade"], ["demo", "seed"]):
        done = subprocess.run([str(BIN / "flask"), *cmd], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"flask {' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")


def spawn_web(procs: list, env: dict, bind: str, log: Path, workers: int, threads: int,
              target: str = "wsgi:app") -> None:
    """gunicorn gthread serving `target` at `bind`, ready when /readyz answers 200."""
    spawn(procs, [str(BIN / "gunicorn"), "-k", "gthread", "--workers", str(workers),
                  "--threads", str(threads), "--bind", bind, "--no-control-socket", "--reuse-port",
                  target], env, log, f"{bind}/readyz")


def main() -> int:
    global DB_NAME
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="timed seconds per endpoint")
    p.add_argument("--warmup", type=float, default=2.0, help="untimed seconds before each")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--only", default=",".join(SCENARIOS),
                   help=f"some of {','.join(SCENARIOS)} (healthz always runs: it is the baseline)")
    p.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306",
                   help="MariaDB server URL, without a database")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--database-name", default=DB_NAME, help="the database the run creates and drops")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args()
    DB_NAME = args.database_name
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := wanted - set(SCENARIOS):
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    names = ["healthz"] + [n for n in SCENARIOS if n in wanted and n != "healthz"]
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # cleanup as on Ctrl-C

    server = sa.make_url(args.database_url)
    admin, rds = sa.create_engine(server, isolation_level="AUTOCOMMIT"), redis.Redis.from_url(args.redis_url)
    app_port, sandbox_port = free_port(), free_port()
    ctx = Context(base=f"127.0.0.1:{app_port}", sandbox=f"127.0.0.1:{sandbox_port}")
    logs = Path(tempfile.mkdtemp(prefix="tihuo-bench-"))
    env = app_env(ctx, logs, server.set(database=args.database_name, query={"charset": "utf8mb4"})
                  .render_as_string(hide_password=False), args.redis_url)
    procs: list[subprocess.Popen] = []
    keep_logs = True  # for a failed run
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {args.database_name}"))
            conn.execute(sa.text(f"CREATE DATABASE {args.database_name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        rds.flushdb()
        start_sandbox(procs, ctx, env, logs)
        migrate_and_seed(env)
        # --reuse-port as README's production command: without it one worker accepts most
        # of the clients (connected at once) and the run measures that race.
        target = "scripts.bench_floor:create()" if "order_floor" in names else "wsgi:app"
        spawn_web(procs, env, ctx.base, logs / "gunicorn.log", args.workers, args.threads, target)
        stores = json.loads(Http(ctx.base).call("GET", "/api/stores")[1])["items"]
        ctx.store_id, ctx.order_store_id = stores[0]["id"], stores[-1]["id"]
        print(f"gunicorn gthread {args.workers}x{args.threads} {target}, {args.concurrency} clients, "
              f"{args.warmup:g}s warm-up + {args.duration:g}s per endpoint, store_id={ctx.store_id}, "
              f"logs in {logs}", flush=True)

        if ORDER_SCENARIOS & set(names):
            setup_orders(ctx)
        results = []
        for name in names:
            if SCENARIOS[name].prepare:
                prepare(ctx, name, args, results[0]["rps"])
            results.append(run_load(ctx, name, args.warmup, args.duration, args.concurrency))
            print(f"  {name}: {results[-1]['requests']} requests, {results[-1]['errors']} errors", flush=True)
        print_table(results)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"config": {k: str(v) for k, v in vars(args).items()},
                                             "results": results}, indent=2))
        keep_logs = any(r["errors"] or r["exhausted"] for r in results)
        if keep_logs:
            print(f"\n!!! THIS RUN HAD ERRORS: its numbers are not comparable. Logs: {logs}")
        return 1 if keep_logs else 0
    except KeyboardInterrupt:
        print("\ninterrupted: stopping", file=sys.stderr)
        keep_logs = False
        return 130
    finally:
        for proc in reversed(procs):
            stop(proc)
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {args.database_name}"))
        rds.flushdb()
        if not keep_logs:
            shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
