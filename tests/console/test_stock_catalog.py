"""The catalog & stores page and the stock page in Chromium, at a desk: an admin opens a
store, creates a product with its SKUs (prices typed in yuan), stocks one at the store and
sees its alert level — the database is checked, not only the page."""
from __future__ import annotations

import os
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.catalog import Product, Sku
from models.stock.tables import Inventory
from models.stores import Store
from tests.console.conftest import SCREENSHOTS
from tests.console.test_counter import sign_in
from tests.factories import make_staff


def fresh(query):
    db.session.expire_all()
    return db.session.scalars(query)


def test_an_admin_creates_a_store_a_product_and_stock_and_sees_its_level(client, ctx, desk):
    admin = make_staff("admin")
    sign_in(desk, admin.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))

    # A store, through the catalog page (opened from the menu).
    desk.get_by_role("menuitem", name="商品与门店").click()
    expect(desk).to_have_url(re.compile(r"/console/catalog$"))
    desk.get_by_role("button", name="新建门店").click()
    dialog = desk.get_by_role("dialog", name="新建门店")
    dialog.locator("#store-name").fill("静安寺店")
    dialog.locator("#store-address").fill("上海市静安区南京西路1号")
    dialog.locator("#store-lat").fill("31.2235")
    dialog.locator("#store-lng").fill("121.4457")
    dialog.locator("#store-hours-sat").fill("10:00-12:00, 13:00-22:00")
    dialog.locator("#store-hours-sun").fill("")
    dialog.locator("#store-radius").fill("3000")
    dialog.locator("#store-level").select_option("2")
    dialog.locator("#store-auto-ready").check()
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(desk.get_by_test_id("stores-table")).to_contain_text("静安寺店")

    store = fresh(select(Store).where(Store.name == "静安寺店")).one()
    assert (store.address, store.lat, store.lng) == ("上海市静安区南京西路1号", 31.2235, 121.4457)
    assert (store.pickup_radius_m, store.pickup_level, store.auto_ready, store.active) == (3000, 2, True, True)
    assert store.opening_hours["mon"] == [["09:00", "21:00"]]
    assert store.opening_hours["sat"] == [["10:00", "12:00"], ["13:00", "22:00"]]
    assert "sun" not in store.opening_hours

    # A product with two SKUs, priced in yuan: exactly those fen (no float rounding).
    desk.get_by_role("button", name="新建商品").click()
    dialog = desk.get_by_role("dialog", name="新建商品")
    dialog.locator("#product-name").fill("五常大米")
    dialog.locator("#product-category").fill("粮油")
    dialog.locator(".sku-spec input").nth(0).fill("5kg")
    dialog.locator(".sku-price input").nth(0).fill("12.8")
    dialog.locator(".sku-barcode input").nth(0).fill("6901234567892")
    dialog.get_by_role("button", name="添加规格").click()
    dialog.locator(".sku-spec input").nth(1).fill("试吃装")
    dialog.locator(".sku-price input").nth(1).fill("0.29")  # 0.29 * 100 is 28.999… in floats
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    products = desk.get_by_test_id("products-table")
    expect(products).to_contain_text("五常大米")
    expect(products).to_contain_text("12.80")
    expect(products).to_contain_text("0.29")

    product = fresh(select(Product).where(Product.name == "五常大米")).one()
    skus = {s.spec: s for s in fresh(select(Sku).where(Sku.product_id == product.id))}
    assert product.category == "粮油"
    assert (skus["5kg"].price_fen, skus["5kg"].barcode) == (1280, "6901234567892")
    assert skus["试吃装"].price_fen == 29

    # Stock at the new store: 5 of a baseline of 100 is 5 % — closed to online orders.
    desk.get_by_role("menuitem", name="库存").click()
    expect(desk).to_have_url(re.compile(r"/console/stock$"))
    expect(desk.locator("#stock-store")).to_be_visible()
    desk.get_by_role("button", name="上架到本店").click()
    dialog = desk.get_by_role("dialog", name="上架到本店")
    dialog.locator("#stock-sku").select_option(label="五常大米 · 5kg")
    dialog.locator("#stock-on-hand").fill("5")
    dialog.locator("#stock-baseline").fill("100")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    row = desk.locator(f"[data-testid=stock-table] tr[data-sku='{skus['5kg'].id}']")
    expect(row).to_contain_text("五常大米 · 5kg")
    level = row.locator(".level")
    expect(level).to_have_text("停售")
    expect(level).to_have_attribute("data-level", "closed")
    expect(level).to_have_css("background-color", "rgb(245, 108, 108)")

    # Goods received: 20 more, 25 % of the baseline — tight, open again online.
    row.get_by_role("button", name="入库").click()
    dialog = desk.get_by_role("dialog", name=re.compile("入库"))
    dialog.locator("#stock-qty").fill("20")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".level")).to_have_text("偏紧")
    expect(row.locator("td").nth(1)).to_have_text("25")
    expect(row.locator("td").nth(3)).to_have_text("25")

    # An adjustment with a reason the API allows: 2 damaged.
    row.get_by_role("button", name="调整").click()
    dialog = desk.get_by_role("dialog", name=re.compile("调整"))
    dialog.locator("#stock-delta").fill("-2")
    dialog.locator("#stock-reason").select_option("damaged")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(row.locator("td").nth(1)).to_have_text("23")
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        desk.screenshot(path=str(SCREENSHOTS / "stock.png"))

    inv = fresh(select(Inventory).where(Inventory.store_id == store.id,
                                        Inventory.sku_id == skus["5kg"].id)).one()
    assert (inv.on_hand, inv.reserved, inv.baseline, inv.level, inv.online) == (23, 0, 100, "tight", True)
