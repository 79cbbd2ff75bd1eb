"""Unlimited mini-program codes (pickup QR codes) and shipping-info upload."""
from __future__ import annotations

import io
import re
from datetime import datetime
from urllib.parse import quote

import qrcode
from flask import Blueprint, Response
from qrcode.image.pure import PyPNGImage

from wechat.sandbox.common import add_wechat_route, json_body, token_appid
from wechat.sandbox.errors import SandboxError
from wechat.sandbox.state import SandboxState

SCENE_RE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")
ENV_VERSIONS = ("release", "trial", "develop")
QR_BORDER = 2
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$")


def render_wxacode(page: str, scene: str, width: int) -> bytes:
    """A real PNG (pure Python: qrcode + pypng, no Pillow) encoding what the
    mini-program would receive: the page and the URL-encoded scene."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QR_BORDER)
    qr.add_data(f"{page}?scene={quote(scene, safe='')}")
    qr.make(fit=True)
    qr.box_size = max(1, width // (qr.modules_count + 2 * QR_BORDER))
    out = io.BytesIO()
    qr.make_image(image_factory=PyPNGImage).save(out)
    return out.getvalue()


def _invalid_args() -> SandboxError:
    # 40097 for bad scene/width/env_version is our assumption (UNCONFIRMED).
    return SandboxError(40097, "invalid args")


def _check_wxacode(state: SandboxState, body: dict) -> tuple[str, str, int, bool, str]:
    scene = body.get("scene")
    if not isinstance(scene, str) or not SCENE_RE.match(scene):
        raise _invalid_args()
    width = body.get("width", 430)
    if isinstance(width, bool) or not isinstance(width, int) or not 280 <= width <= 1280:
        raise _invalid_args()
    env_version = body.get("env_version", "release")
    if env_version not in ENV_VERSIONS:
        raise _invalid_args()
    check_path = body.get("check_path", True)
    page = body.get("page")
    if page is None:
        page = state.pages[0] if state.pages else ""
    if (not isinstance(page, str) or page.startswith("/") or "?" in page
            or page == "scancode_time"):
        raise SandboxError(41030, "invalid page")
    if check_path is not False and page not in state.pages:
        raise SandboxError(41030, "invalid page")
    return scene, page, width, check_path is not False, env_version


def _fail(field: str) -> SandboxError:
    # The errcode for a malformed shipping upload is our assumption (UNCONFIRMED):
    # 47001 "data format error" with a hint naming the field.
    return SandboxError(47001, f"data format error hint: [{field}]")


def _int_in(value, choices) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in choices


def _nonempty(obj: dict, key: str) -> bool:
    return isinstance(obj.get(key), str) and bool(obj[key].strip())


# 顺丰 refuses an express upload without the receiver's masked phone: WeChat answers
# 47003 naming the field (as users of these carriers report; the code is UNCONFIRMED).
CONTACT_CARRIERS = frozenset({"SF", "SFKY"})


def check_shipping(body: dict) -> None:
    key = body.get("order_key")
    if not isinstance(key, dict) or not _int_in(key.get("order_number_type"), (1, 2)):
        raise _fail("order_key.order_number_type")
    if key["order_number_type"] == 1:
        for field in ("mchid", "out_trade_no"):
            if not _nonempty(key, field):
                raise _fail(f"order_key.{field}")
    elif not _nonempty(key, "transaction_id"):
        raise _fail("order_key.transaction_id")
    logistics_type = body.get("logistics_type")
    if not _int_in(logistics_type, (1, 2, 3, 4)):
        raise _fail("logistics_type")
    delivery_mode = body.get("delivery_mode")
    if not _int_in(delivery_mode, (1, 2)):
        raise _fail("delivery_mode")
    if delivery_mode == 2 and not isinstance(body.get("is_all_delivered"), bool):
        raise _fail("is_all_delivered")
    items = body.get("shipping_list")
    if not isinstance(items, list) or not items:
        raise _fail("shipping_list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not _nonempty(item, "item_desc"):
            raise _fail(f"shipping_list[{i}].item_desc")
        if logistics_type == 1:
            for field in ("tracking_no", "express_company"):
                if not _nonempty(item, field):
                    raise _fail(f"shipping_list[{i}].{field}")
            contact = item.get("contact")
            if (item["express_company"].upper() in CONTACT_CARRIERS
                    and not (isinstance(contact, dict) and _nonempty(contact, "receiver_contact"))):
                raise SandboxError(47003, f"argument invalid! shipping_list[{i}].contact.receiver_contact is empty")
    upload_time = body.get("upload_time")
    if not isinstance(upload_time, str) or not RFC3339_RE.match(upload_time):
        raise _fail("upload_time")
    try:
        datetime.fromisoformat(upload_time)
    except ValueError:
        raise _fail("upload_time") from None
    payer = body.get("payer")
    if not isinstance(payer, dict) or not _nonempty(payer, "openid"):
        raise _fail("payer.openid")


def register(bp: Blueprint, state: SandboxState) -> None:
    def getwxacodeunlimit():
        appid = token_appid(state)
        body = json_body()  # JSON only: form posts get 47001
        scene, page, width, check_path, env_version = _check_wxacode(state, body)
        png = render_wxacode(page, scene, width)
        state.record("wxacodes", {"appid": appid, "scene": scene, "page": page,
                                  "width": width, "check_path": check_path,
                                  "env_version": env_version})
        # Real WeChat likely answers image/jpeg (UNCONFIRMED); clients must sniff.
        return Response(png, 200, content_type="image/png")

    def upload_shipping_info():
        appid = token_appid(state)
        body = json_body()
        check_shipping(body)
        state.record("shipping_uploads", {"appid": appid, "payload": body})
        return {"errcode": 0, "errmsg": "ok"}

    add_wechat_route(bp, state, "/wxa/getwxacodeunlimit", "POST", getwxacodeunlimit)
    add_wechat_route(bp, state, "/wxa/sec/order/upload_shipping_info", "POST",
                     upload_shipping_info)
