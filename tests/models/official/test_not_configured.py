"""A deployment without an official account (WECHAT_OA_* unset — optional, even in
production): staff alerts are not sent, the server URL and the binding QR code answer
that there is no official account, and nothing else changes."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from models.official.alerts import deliver_staff_alert
from models.official.tables import BindingToken
from tests.app.test_errors import assert_error
from tests.factories import admin_headers, make_staff, make_store
from tests.models.official.support import sandbox_get


@pytest.fixture
def without_official_account(app, monkeypatch):
    # What app.wechat.init_app leaves when no WECHAT_OA_* is set.
    monkeypatch.delitem(app.extensions, "official")
    monkeypatch.delitem(app.extensions, "official_crypto")
    monkeypatch.setitem(app.config, "WECHAT_OA_APPID", None)


def test_binding_qr_answers_that_there_is_no_official_account(client, ctx, without_official_account):
    clerk = make_staff("clerk", [make_store()])
    headers = admin_headers(client)
    err = assert_error(client.post(f"/api/admin/staff/{clerk.id}/official-binding", headers=headers),
                       501, "not_configured")
    assert "official account" in err["message"] and "WECHAT_OA_APPID" in err["message"]
    assert db.session.scalars(select(BindingToken)).first() is None
    # Reading and removing a binding still work (there is none).
    got = client.get(f"/api/admin/staff/{clerk.id}/official-binding", headers=headers)
    assert got.status_code == 200 and got.json["bound"] is False


def test_server_url_is_not_there(client, without_official_account):
    err = assert_error(client.get("/wechat/official?signature=x&timestamp=1&nonce=n&echostr=e"),
                       404, "not_found")
    assert "official account" in err["message"]


def test_staff_alerts_are_not_sent(ctx, sandbox, without_official_account, caplog):
    store = make_store()
    make_staff("manager", [store])
    db.session.commit()
    deliver_staff_alert({"event": "stock_level", "store_id": store.id, "sku_id": 1, "level": "red"})
    assert sandbox_get(sandbox, "/_/official/templates")["messages"] == []
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
