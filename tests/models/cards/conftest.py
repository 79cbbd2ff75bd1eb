"""Fixtures every card test shares."""
from __future__ import annotations

import pytest

from tests.factories import bearer, make_product, make_staff, make_store, staff_token


@pytest.fixture(autouse=True)
def _fast_hashes(app, monkeypatch):
    # Production hashes with CARD_PASSWORD_ITERATIONS (200k); tests needn't wait for it.
    monkeypatch.setitem(app.config, "CARD_PASSWORD_ITERATIONS", 1000)


@pytest.fixture
def setup(client, ctx):
    """A store, a SKU to sell on cards, an admin's headers."""
    store = make_store()
    sku = make_product("阳澄湖大闸蟹", skus=[("4对", 39800)]).skus[0]
    admin = bearer(staff_token(client, make_staff("admin")))
    return store, sku, admin
