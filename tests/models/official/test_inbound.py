"""GET/POST /wechat/official: signatures (plain and safe mode), the encrypted round trip
checked with wechatpy, unreadable pushes, 「今日」 and order numbers."""
from __future__ import annotations

from datetime import timedelta

import pytest
import xmltodict
from sqlalchemy import select
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from app.extensions import db
from models.official import order_lookup
from models.official.tables import OfficialBinding
from models.analytics.calendar import bounds, today
from models.orders.status import SYSTEM, transition
from models.orders.tables import Order
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from tests.factories import (make_product, make_shopper, make_staff, make_store, shopper_token,
                             stock)
from tests.models.official.support import (bind, oa_openid, post_encrypted, post_plain, reply_text, say,
                                    sandbox_get, sandbox_post, signed_args, text_xml,
                                    wechatpy_crypto)
from tests.models.orders.test_placement import order_body


# -- the URL check -----------------------------------------------------------------------

def test_url_check_echoes_echostr_when_signed(client):
    resp = client.get("/wechat/official", query_string={**signed_args(), "echostr": "8436291"})
    assert resp.status_code == 200 and resp.data == b"8436291"


@pytest.mark.parametrize("args", [
    {**signed_args(token="not-our-token"), "echostr": "1"},
    {"timestamp": "1700000000", "nonce": "1", "echostr": "1"},
    {"echostr": "1"},
])
def test_url_check_refuses_anything_else(client, args):
    resp = client.get("/wechat/official", query_string=args)
    assert resp.status_code == 403 and resp.json["error"]["code"] == "signature_invalid"
    assert b"echostr" not in resp.data and resp.data != b"1"


# -- signatures on pushes: refused before anything is read -------------------------------

@pytest.fixture
def bound_manager(ctx):
    store = make_store(name="静安寺店")
    manager = make_staff("manager", [store], username="mgr")
    return store, manager, bind(manager, "manager-wechat")


def bindings() -> int:
    db.session.rollback()  # a fresh snapshot: the live app committed meanwhile
    count = len(db.session.scalars(select(OfficialBinding)).all())
    db.session.rollback()  # and no open transaction while the app writes (SQLite)
    return count


@pytest.mark.parametrize("options", [
    {"bad_signature": True},                                   # plain mode
    {"bad_signature": True, "encrypt": True},                  # safe mode, both wrong
    {"bad_msg_signature": True, "encrypt": True},              # safe mode, ciphertext not signed
    {"timestamp": 1_600_000_000},                              # signed, but long ago
])
def test_bad_signatures_are_403_and_nothing_is_processed(live, sandbox, bound_manager, options):
    # Unfollowing unbinds a staff member: a forged unsubscribe must change nothing.
    result = sandbox_post(sandbox, "/_/official/push", {"user": "manager-wechat",
                                                        "event": "unsubscribe", **options})
    assert result["status"] == 403 and result["reply"] is None
    assert bindings() == 1
    honest = sandbox_post(sandbox, "/_/official/push", {"user": "manager-wechat", "event": "unsubscribe"})
    assert honest["status"] == 200 and honest["body"] == "success"
    assert bindings() == 0


def test_a_signature_replayed_with_another_body_is_refused(client, bound_manager):
    args = signed_args()
    first = text_xml(bound_manager[2], "今日")
    assert post_plain(client, first, args).status_code == 200
    assert post_plain(client, first, args).status_code == 200  # WeChat's own retry
    forged = post_plain(client, text_xml(oa_openid("someone-else"), "今日"), args)
    assert forged.status_code == 403


def test_a_message_encrypted_for_another_appid_is_refused(client, bound_manager):
    resp, _ = post_encrypted(client, text_xml(bound_manager[2], "今日"),
                             crypto=wechatpy_crypto(appid="wx_other_app_00000"))
    assert resp.status_code == 403


# -- the encrypted round trip ------------------------------------------------------------

def test_encrypted_round_trip_with_wechatpy(client, bound_manager):
    """wechatpy encrypts a push as WeChat would; our encrypted reply decrypts with wechatpy."""
    crypto = WeChatCrypto(OA_TOKEN, OA_AES_KEY, OA_APPID)
    resp, _ = post_encrypted(client, text_xml(bound_manager[2], "今日"), crypto=crypto)
    assert resp.status_code == 200
    envelope = xmltodict.parse(resp.data)["xml"]
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    plain = crypto.decrypt_message(resp.data, envelope["MsgSignature"], envelope["TimeStamp"],
                                   envelope["Nonce"])
    reply = parse_message(plain)
    assert reply.type == "text" and reply.target == bound_manager[2]  # to the sender
    assert reply.content.startswith("今日") and "静安寺店：付款 0 单 ¥0.00" in reply.content


@pytest.mark.parametrize("encrypt", [True, False])
def test_the_sandbox_push_round_trip_in_safe_and_plain_mode(live, sandbox, bound_manager, encrypt):
    """The sandbox's own (pycryptodome) implementation against our wechatpy one."""
    result = say(sandbox, "manager-wechat", "今日", encrypt=encrypt)
    assert result["encrypted_reply"] is encrypt
    assert result["params"].get("encrypt_type") == ("aes" if encrypt else None)
    assert reply_text(result).startswith("今日")


# -- what we cannot read, or do not handle: "success" ------------------------------------

@pytest.mark.parametrize("body", [
    "", "not xml at all", "<xml><MsgType>text", "<xml>text</xml>",
    "<xml><MsgType><a>1</a></MsgType></xml>",
    '<!DOCTYPE x [<!ENTITY e "今日">]><xml><FromUserName>o</FromUserName><MsgType>text</MsgType>'
    "<Content>&e;</Content></xml>",
    "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><MsgType>image</MsgType>"
    "<PicUrl>http://x/1.jpg</PicUrl><MediaId>m</MediaId></xml>",
    "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><MsgType>event</MsgType>"
    "<Event>VIEW_MINIPROGRAM</Event></xml>",
])
def test_unreadable_or_unknown_pushes_get_success(client, body):
    resp = post_plain(client, body)
    assert resp.status_code == 200 and resp.data == b"success"


def test_undecryptable_but_signed_ciphertext_gets_success(client):
    from wechat.sandbox.official.crypto import sha1_signature

    args = signed_args()
    garbage = "bm90IGEgY2lwaGVydGV4dA=="
    msg_signature = sha1_signature(OA_TOKEN, args["timestamp"], args["nonce"], garbage)
    resp = client.post("/wechat/official", data=f"<xml><Encrypt>{garbage}</Encrypt></xml>".encode(),
                       query_string={**args, "encrypt_type": "aes", "msg_signature": msg_signature})
    assert resp.status_code == 200 and resp.data == b"success"


def test_other_text_and_today_from_a_stranger_get_success(live, sandbox, bound_manager):
    assert say(sandbox, "manager-wechat", "你好")["body"] == "success"
    assert say(sandbox, "not-staff", "今日")["body"] == "success"


# -- 今日 ----------------------------------------------------------------------------------

@pytest.fixture
def two_stores(ctx):
    a, b = make_store(name="静安寺店"), make_store(name="陆家嘴店")
    rice = make_product("五常大米", skus=[("5kg", 8900)]).skus[0]
    stock(a, rice, 50)
    stock(b, rice, 50)
    return a, b, rice


def order_in(client, shopper, store, sku, qty):
    resp = client.post("/api/orders", headers=shopper, json=order_body(store, (sku, qty)))
    assert resp.status_code == 201, resp.json
    return db.session.scalars(select(Order).where(Order.order_no == resp.json["order_no"])).one()


def test_today_counts_this_shanghai_day_for_the_staff_members_stores(live, sandbox, client, two_stores):
    a, b, rice = two_stores
    _, shopper = make_shopper()
    start, _ = bounds(today())
    picked = order_in(client, shopper, a, rice, 2)       # paid, picked up, completed today
    for action in ("pay", "mark_ready", "pick_up", "complete"):
        transition(picked, action, SYSTEM)
    paid = order_in(client, shopper, a, rice, 1)         # paid today
    transition(paid, "pay", SYSTEM)
    yesterday = order_in(client, shopper, a, rice, 3)    # paid just before today began
    transition(yesterday, "pay", SYSTEM, at=start - timedelta(minutes=1))
    order_in(client, shopper, a, rice, 1)                # never paid
    elsewhere = order_in(client, shopper, b, rice, 4)    # another store
    transition(elsewhere, "pay", SYSTEM)
    db.session.commit()
    manager = make_staff("manager", [a])
    bind(manager, "manager-a")
    admin = make_staff("admin")
    bind(admin, "the-boss")

    mine = reply_text(say(sandbox, "manager-a", "今日"))
    assert mine.splitlines()[1:] == ["静安寺店：付款 2 单 ¥267.00｜提货 1 单｜完成 1 单"]
    everything = reply_text(say(sandbox, "the-boss", " 今天 ")).splitlines()
    assert everything[1:] == ["静安寺店：付款 2 单 ¥267.00｜提货 1 单｜完成 1 单",
                              "陆家嘴店：付款 1 单 ¥356.00｜提货 0 单｜完成 0 单",
                              "合计：付款 3 单 ¥623.00｜提货 1 单｜完成 1 单"]


def test_today_from_a_deactivated_staff_member_gets_success(live, sandbox, client, ctx):
    clerk = make_staff("clerk", [make_store()])
    bind(clerk, "former-clerk")
    clerk.active = False
    db.session.commit()
    assert say(sandbox, "former-clerk", "今日")["body"] == "success"


# -- order numbers -------------------------------------------------------------------------

def test_an_order_number_gets_its_status_for_its_owner_only(live, sandbox, client, two_stores):
    a, _, rice = two_stores
    alice = {"Authorization": f"Bearer {shopper_token(client, sandbox, 'alice')}"}
    shopper_token(client, sandbox, "bob")  # bob shops too, with his own unionid
    order = order_in(client, alice, a, rice, 1)
    db.session.commit()

    mine = reply_text(say(sandbox, "alice", order.order_no.lower()))
    assert mine.splitlines() == [f"订单 {order.order_no}", "状态：待支付", "门店：静安寺店", "金额：¥89.00"]
    stranger = reply_text(say(sandbox, "bob", order.order_no))
    never_shopped = reply_text(say(sandbox, "carol", order.order_no))
    unknown = reply_text(say(sandbox, "alice", "TH" + "9" * 20))
    assert stranger == never_shopped == unknown == order_lookup.NOT_FOUND
    assert order.order_no not in stranger


def test_order_status_shows_the_pickup_deadline_when_ready(live, sandbox, client, two_stores):
    a, _, rice = two_stores
    alice = {"Authorization": f"Bearer {shopper_token(client, sandbox, 'alice')}"}
    order = order_in(client, alice, a, rice, 1)
    transition(order, "pay", SYSTEM)
    deadline = order.paid_at + timedelta(hours=48)
    transition(order, "mark_ready", SYSTEM, pickup_deadline=deadline)
    db.session.commit()
    lines = reply_text(say(sandbox, "alice", order.order_no)).splitlines()
    assert lines[1] == "状态：待取货"
    assert lines[-1].startswith("取货截止：")


def test_the_unionid_is_asked_once_and_wechat_outages_get_a_polite_answer(live, sandbox, client,
                                                                          two_stores):
    a, _, rice = two_stores
    alice = {"Authorization": f"Bearer {shopper_token(client, sandbox, 'alice')}"}
    order = order_in(client, alice, a, rice, 1)
    db.session.commit()
    sandbox_post(sandbox, "/_/fail-next", {"path": "/cgi-bin/user/info", "errcode": -1})
    assert reply_text(say(sandbox, "alice", order.order_no)) == order_lookup.UNAVAILABLE
    assert "待支付" in reply_text(say(sandbox, "alice", order.order_no))
    assert "待支付" in reply_text(say(sandbox, "alice", order.order_no))
    calls = sandbox_get(sandbox, "/_/calls", path="/cgi-bin/user/info")["calls"]
    assert [c["errcode"] for c in calls] == [-1, 0]  # the answer is cached after that


@pytest.mark.parametrize("text, looks", [
    ("TH2611221242" + "1" * 16, True),   # placement's numbers today
    ("th2611221242" + "1" * 10, True),   # and the shorter ones placed before 2026-11-22
    ("TH2611221242" + "1" * 12, False), ("TH261122", False), ("XX2611221242" + "1" * 16, False)])
def test_order_numbers_of_both_lengths_are_recognized(text, looks):
    assert order_lookup.looks_like_order_no(text) is looks
