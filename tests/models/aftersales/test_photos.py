"""Photos: images only, ≤ 5 MB, at most 9, metadata stripped, stored outside static files,
shown through short-lived signed links."""
from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from tests.app.test_errors import assert_error
from tests.models.aftersales.support import ask, picked_up, shop  # noqa: F401


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"            # Make
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPS IFD
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()


@pytest.fixture
def photo_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "AFTERSALE_PHOTO_DIR", str(tmp_path))
    return tmp_path


def upload(client, shop, no, body, content_type="image/jpeg"):
    return client.post(f"/api/aftersales/{no}/photos", data=body, headers={**shop.shopper, "Content-Type": content_type})


def test_a_photo_is_stored_without_its_metadata_and_shown_by_a_signed_link(app, client, sandbox, shop, photo_dir,
                                                                          monkeypatch):
    order_no = picked_up(app, client, sandbox, shop, qty=1)
    no = ask(client, shop, order_no)["after_sale_no"]
    original = jpeg_with_gps()
    assert b"CameraMaker" in original
    resp = upload(client, shop, no, original)
    assert resp.status_code == 201, resp.json
    [photo_id] = resp.json["photo_ids"]
    [stored] = list(photo_dir.iterdir())
    data = stored.read_bytes()
    assert b"CameraMaker" not in data and b"secret comment" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.size == (64, 48) and not img.getexif()
    # The shopper's and the staff's links both lead to it; an altered one does not.
    link = client.get(f"/api/aftersales/{no}/photos/{photo_id}/link", headers=shop.shopper).json
    staff_link = client.get(f"/api/staff/aftersales/{no}/photos/{photo_id}/link", headers=shop.manager).json
    for url in (link["url"], staff_link["url"]):
        got = client.get(url)
        assert got.status_code == 200 and got.data == data and got.mimetype == "image/jpeg"
        assert "no-store" in got.headers["Cache-Control"]
    assert_error(client.get(link["url"][:-2] + "xx"), 403, "photo_link_invalid")
    assert client.get(f"/api/staff/aftersales/{no}/photos/{photo_id}/link", headers=shop.other_clerk).status_code == 403
    monkeypatch.setitem(app.config, "AFTERSALE_PHOTO_URL_TTL_S", 1)
    short = client.get(f"/api/aftersales/{no}/photos/{photo_id}/link", headers=shop.shopper).json["url"]
    time.sleep(2.2)
    assert_error(client.get(short), 403, "photo_link_invalid")


def test_only_images_up_to_the_limit(app, client, sandbox, shop, photo_dir):
    order_no = picked_up(app, client, sandbox, shop, qty=1)
    no = ask(client, shop, order_no)["after_sale_no"]
    assert_error(upload(client, shop, no, b"GIF89a not really"), 422, "photo_rejected")
    assert_error(upload(client, shop, no, b"hello", content_type="text/plain"), 415, "unsupported_media_type")
    assert upload(client, shop, no, b"x" * (5 * 1024 * 1024 + 1)).status_code == 413
    png = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(png, "PNG")
    for _ in range(9):
        assert upload(client, shop, no, png.getvalue(), "image/png").status_code == 201
    assert_error(upload(client, shop, no, png.getvalue(), "image/png"), 409, "too_many_photos")
    assert len(list(photo_dir.iterdir())) == 9
