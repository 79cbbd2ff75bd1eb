"""The official-account client against the sandbox's official-account side, and the
sandbox's message crypto against wechatpy's (two implementations checking each other)."""
from __future__ import annotations

import pytest
import requests
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply

from tests.wechat.conftest import APPID, SECRET
from wechat.errors import WeChatAPIError
from wechat.official import MessageCrypto, OfficialAccountClient, SignatureInvalid, UnreadableMessage
from wechat.sandbox import OfficialAccount, OfficialSandbox, SandboxState, openid_for, unionid_for
from wechat.sandbox.official import crypto as official_crypto
from wechat.sandbox.official import push as official_push
from wechat.sandbox.server import start_sandbox_server

OA, OA_SECRET = "wx3333333333333333", "oa-secret"
TOKEN, AES_KEY = "oaToken", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
TEMPLATES = {"OA_NEW": ["character_string1", "thing2", "amount3"]}


@pytest.fixture(scope="module")
def oa_server():
    official = OfficialSandbox([OfficialAccount(OA, TOKEN, AES_KEY, templates=TEMPLATES)],
                               unionid_apps={APPID, OA})
    server = start_sandbox_server(SandboxState(apps={APPID: SECRET, OA: OA_SECRET}, official=official))
    yield server
    server.stop()


@pytest.fixture
def oa_state(oa_server):
    oa_server.state.reset()
    return oa_server.state


@pytest.fixture
def oa(oa_server, oa_state, redis):
    return OfficialAccountClient(OA, OA_SECRET, oa_server.base_url, redis, timeout=2)


def post(server, path, body, expect=200):
    res = requests.post(server.base_url + path, json=body, timeout=5)
    assert res.status_code == expect, res.text
    return res.json()


def errcode(fn, *args, **kwargs) -> int:
    with pytest.raises(WeChatAPIError) as exc:
        fn(*args, **kwargs)
    return exc.value.errcode


def test_the_oa_token_is_its_own_in_redis(oa_server, oa, redis):
    from wechat.miniprogram import MiniProgramClient

    mp = MiniProgramClient(APPID, SECRET, oa_server.base_url, redis)
    assert oa.access_token != mp.access_token
    assert redis.get(f"wechat:{OA}_access_token") and redis.get(f"wechat:{APPID}_access_token")
    assert oa.access_token == oa.access_token  # shared, not refetched
    assert oa_server.state.call_count("/cgi-bin/stable_token") == 2


def test_template_messages_go_to_followers_only_and_are_checked(oa_server, oa_state, oa):
    openid = post(oa_server, "/_/official/followers", {"user": "li"})["openid"]
    good = {"character_string1": {"value": "TH1"}, "thing2": {"value": "静安寺店"},
            "amount3": {"value": "¥1.00"}}
    assert oa.send_template_message(openid, "OA_NEW", good, client_msg_id="a") > 0
    recorded = post_get(oa_server, "/_/official/templates")["messages"]
    assert [(m["touser"], m["template_id"], m["data"]) for m in recorded] == [(openid, "OA_NEW", good)]
    assert errcode(oa.send_template_message, openid_for(OA, "stranger"), "OA_NEW", good) == 40003
    assert errcode(oa.send_template_message, openid, "OA_OTHER", good) == 40037
    assert errcode(oa.send_template_message, openid, "OA_NEW",
                   {**good, "thing2": {"value": "字" * 21}}) == 47003
    assert errcode(oa.send_template_message, openid, "OA_NEW", {**good, "thing9": {"value": "x"}}) == 47003
    assert errcode(oa.send_template_message, openid, "OA_NEW", {"thing2": "bare string"}) == 47003
    oa_state.official.unfollow(OA, openid)
    assert errcode(oa.send_template_message, openid, "OA_NEW", good) == 43004


def post_get(server, path, **params):
    res = requests.get(server.base_url + path, params=params, timeout=5)
    assert res.status_code == 200, res.text
    return res.json()


def test_temporary_qr_codes_carry_their_scene_and_expire(oa_server, oa_state, oa):
    qr = oa.create_temporary_qrcode("bind:abc", 120)
    assert qr["expire_seconds"] == 120 and qr["url"].startswith("http://weixin.qq.com/q/")
    [listed] = post_get(oa_server, "/_/official/qrcodes")["qrcodes"]
    assert listed["scene"] == "bind:abc" and listed["action_name"] == "QR_STR_SCENE"
    image = requests.get(oa.qrcode_image_url(qr["ticket"]), timeout=5)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    with pytest.raises(ValueError):
        oa.create_temporary_qrcode("x" * 65, 60)
    oa_state.advance(121)
    assert requests.get(oa.qrcode_image_url(qr["ticket"]), timeout=5).status_code == 404
    post(oa_server, "/_/official/scan", {"ticket": qr["ticket"], "user": "li"}, expect=410)


@pytest.mark.parametrize("body, code", [
    ({"action_name": "QR_NOPE", "action_info": {"scene": {"scene_str": "a"}}}, 40052),
    ({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": ""}}}, 40053),
    ({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 0}}}, 40053),
    ({"action_name": "QR_STR_SCENE"}, 40053),
])
def test_bad_qr_requests_are_refused(oa, body, code):
    assert errcode(oa._post_json, "qrcode_create", "qrcode/create", body, base=oa.API_BASE_URL) == code


def test_user_info_gives_the_unionid_shared_with_the_mini_program(oa_server, oa_state, oa):
    login = post(oa_server, "/_/login-codes", {"user": "li", "appid": APPID})
    session = requests.get(oa_server.base_url + "/sns/jscode2session", timeout=5, params={
        "appid": APPID, "secret": SECRET, "js_code": login["code"],
        "grant_type": "authorization_code"}).json()
    follower = post(oa_server, "/_/official/followers", {"user": "li"})
    assert follower["openid"] != session["openid"]
    assert oa.get_unionid(follower["openid"]) == session["unionid"] == unionid_for("li")
    assert errcode(oa.get_unionid, openid_for(OA, "never-followed")) == 40003


def test_oa_only_apis_refuse_a_mini_program_token(oa_server, oa_state, redis):
    not_oa = OfficialAccountClient(APPID, SECRET, oa_server.base_url, redis)
    assert errcode(not_oa.create_temporary_qrcode, "s", 60) == 48001
    assert errcode(not_oa.get_unionid, "o") == 48001


# -- message crypto: the sandbox's and wechatpy's agree ------------------------------------

def test_sandbox_encryption_decrypts_with_wechatpy_and_back():
    crypto = WeChatCrypto(TOKEN, AES_KEY, OA)
    ciphertext = official_crypto.encrypt(AES_KEY, OA, "<xml>你好</xml>")
    envelope = f"<xml><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
    signature = official_crypto.sha1_signature(TOKEN, "1700000000", "42", ciphertext)
    assert crypto.decrypt_message(envelope, signature, "1700000000", "42") == "<xml>你好</xml>"
    reply = crypto.encrypt_message("<xml><Content>好的</Content></xml>", "43", "1700000001")
    account = OfficialAccount(OA, TOKEN, AES_KEY, mode="safe")
    assert official_push.read_reply(account, reply) == ({"Content": "好的"}, True, None)
    other = OfficialAccount("wx_other_000000000", TOKEN, AES_KEY, mode="safe")
    assert official_push.read_reply(other, reply)[2] == "reply encrypted for another appid"


def test_our_message_crypto_against_the_sandbox_pusher():
    """MessageCrypto (wechatpy inside) reads what the sandbox pushes, in every mode."""
    ours = MessageCrypto(TOKEN, AES_KEY, OA)
    replies = {}
    for mode in ("plain", "compat", "safe"):
        account = OfficialAccount(OA, TOKEN, AES_KEY, server_url="http://test/", mode=mode)

        def sender(url, params, body, mode=mode):
            ours.check_signature(params["signature"], params["timestamp"], params["nonce"])
            xml = (ours.decrypt(body, params["msg_signature"], params["timestamp"], params["nonce"])
                   if params.get("encrypt_type") == "aes" else body.decode())
            message = parse_message(xml)
            reply = TextReply(message=message, content=f"{mode}: {message.content}").render()
            if params.get("encrypt_type") == "aes":
                reply = ours.encrypt(reply, params["nonce"], params["timestamp"])
            return 200, reply

        fields = official_push.text_fields(account, "o-li", "今日", 1_700_000_000)
        result = official_push.push(account, fields, now=1_700_000_000, sender=sender)
        assert result["reply_error"] is None
        replies[mode] = (result["reply"]["Content"], result["encrypted_reply"])
    assert replies == {"plain": ("plain: 今日", False), "compat": ("compat: 今日", True),
                       "safe": ("safe: 今日", True)}


def test_our_message_crypto_refuses_what_is_not_ours():
    ours = MessageCrypto(TOKEN, AES_KEY, OA)
    with pytest.raises(SignatureInvalid):
        ours.check_signature(official_crypto.sha1_signature("other", "1", "2"), "1", "2")
    with pytest.raises(SignatureInvalid):
        ours.check_signature(None, "1", "2")
    foreign = official_crypto.encrypt(AES_KEY, "wx_someone_else_00", "<xml/>")
    signature = official_crypto.sha1_signature(TOKEN, "1", "2", foreign)
    with pytest.raises(SignatureInvalid):
        ours.decrypt(f"<xml><Encrypt>{foreign}</Encrypt></xml>".encode(), signature, "1", "2")
    with pytest.raises(SignatureInvalid):
        ours.decrypt(f"<xml><Encrypt>{foreign}</Encrypt></xml>".encode(), "0" * 40, "1", "2")
    garbage = "AAAA"
    with pytest.raises(UnreadableMessage):
        ours.decrypt(f"<xml><Encrypt>{garbage}</Encrypt></xml>".encode(),
                     official_crypto.sha1_signature(TOKEN, "1", "2", garbage), "1", "2")
    with pytest.raises(UnreadableMessage):
        MessageCrypto(TOKEN, None, OA).decrypt(b"<xml/>", "x", "1", "2")
