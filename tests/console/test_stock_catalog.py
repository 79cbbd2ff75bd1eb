"""The catalog & stores page, the stock page and the audit log in Chromium, at a desk: an
admin opens a store, creates a product with its SKUs (prices typed in yuan), stocks one at
the store and sees its alert level; a manager rejects a replenishment request and reads a
row's ledger; an admin filters the audit log — the database is checked, not only the page."""
from __future__ import annotations

import os
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.catalog import Product, Sku
from models.stock.tables import Inventory, ReplenishmentRequest
from models.stores import Store
from tests.console.conftest import SCREENSHOTS
from tests.console.test_counter import sign_in
from tests.factories import bearer, make_product, make_staff, make_store, staff_token
from tests.factories import stock as set_stock


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


def test_a_manager_rejects_a_replenishment_request_and_reads_a_rows_ledger(client, ctx, desk):
    store = make_store(name="徐家汇店")
    rice = make_product("五常大米", skus=[("5kg", 8900)]).skus[0]
    set_stock(store, rice, 100, baseline=100)
    set_stock(store, rice, 8)                    # red: a replenishment request opens
    [request] = fresh(select(ReplenishmentRequest)).all()
    manager = make_staff("manager", [store], username="wang.li")
    sign_in(desk, manager.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.goto("/console/stock")

    # The request, with its suggestion; rejected with a reason, after a confirmation.
    requests = desk.get_by_test_id("replenishment-table")
    row = requests.locator(f"tr[data-request='{request.id}']")
    expect(row).to_contain_text("五常大米 · 5kg")
    expect(row).to_contain_text("92")
    expect(row).to_contain_text("待处理")
    row.get_by_role("button", name="拒绝").click()
    dialog = desk.get_by_role("dialog", name=re.compile("拒绝补货请求"))
    dialog.get_by_role("button", name="确认拒绝").click()
    expect(dialog).to_contain_text("请填写原因")      # no reason, nothing sent
    dialog.locator("#decision-reason").fill("下周总仓统一配送")
    dialog.get_by_role("button", name="确认拒绝").click()
    expect(dialog).to_be_hidden()
    expect(desk.get_by_text("五常大米 · 5kg：已拒绝补货请求")).to_be_visible()
    expect(requests.locator(f"tr[data-request='{request.id}']")).to_have_count(0)
    decided = fresh(select(ReplenishmentRequest)).one()
    assert (decided.status, decided.reason, decided.decided_by) == ("cancelled", "下周总仓统一配送", manager.id)

    # Goods arrive; the row's ledger shows the restock first, with the balance it left.
    stock_row = desk.locator(f"[data-testid=stock-table] tr[data-sku='{rice.id}']")
    stock_row.get_by_role("button", name="入库").click()
    dialog = desk.get_by_role("dialog", name=re.compile("入库"))
    dialog.locator("#stock-qty").fill("20")
    dialog.locator("#stock-note").fill("到货单 A-17")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(stock_row.locator("td").nth(1)).to_have_text("28")
    stock_row.get_by_role("button", name="流水").click()
    drawer = desk.get_by_role("dialog", name=re.compile("库存流水"))
    ledger = drawer.get_by_test_id("ledger-table")
    newest = ledger.locator("tbody tr").first
    expect(newest).to_have_attribute("data-kind", "restock")
    expect(newest).to_contain_text("入库")
    expect(newest).to_contain_text("+20")
    expect(newest.locator("td").nth(4)).to_have_text("28")
    expect(newest).to_contain_text("wang.li")
    expect(newest).to_contain_text("到货单 A-17")
    expect(ledger.locator("tbody tr")).to_have_count(3)   # the restock and the two counts
    expect(ledger.locator("tbody tr").nth(1).locator("td").nth(4)).to_have_text("8")


def test_an_admin_filters_the_audit_log_by_action(client, ctx, desk):
    store = make_store()
    rice = make_product("五常大米", skus=[("5kg", 8900)]).skus[0]
    admin = make_staff("admin")
    h = bearer(staff_token(client, admin))
    for qty in (5, 7):
        assert client.post(f"/api/admin/stores/{store.id}/inventory/{rice.id}/restock", headers=h,
                           json={"qty": qty}).status_code == 200
    assert client.post(f"/api/admin/stores/{store.id}/inventory/{rice.id}/adjust", headers=h,
                       json={"delta": -1, "reason": "damaged"}).status_code == 200
    sign_in(desk, admin.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.get_by_role("menuitem", name="审计日志").click()
    table = desk.get_by_test_id("audit-table")
    expect(table.locator("tr[data-action='inventory.adjust']")).to_have_count(1)
    expect(table.locator("tr[data-action='staff.create']")).not_to_have_count(0)

    filters = desk.get_by_test_id("audit-filters")
    filters.locator("#audit-action").fill("inventory.restock")
    filters.get_by_role("button", name="查询").click()
    expect(table.locator("tbody tr[data-action]")).to_have_count(2)
    expect(table.locator("tr[data-action='inventory.restock']")).to_have_count(2)
    expect(table.locator("tbody tr").first).to_contain_text("qty: 7")  # newest first
    # A word is a prefix: every inventory change, by this admin, today (Beijing time).
    filters.locator("#audit-action").fill("inventory")
    filters.locator("#audit-actor").select_option(str(admin.id))
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    filters.locator("#audit-from").fill(today)
    filters.locator("#audit-to").fill(today)
    filters.get_by_role("button", name="查询").click()
    expect(table.locator("tbody tr[data-action]")).to_have_count(3)
    expect(table.locator("tr[data-action='staff.create']")).to_have_count(0)
    filters.get_by_role("button", name="清除筛选").click()
    expect(table.locator("tr[data-action='staff.create']")).not_to_have_count(0)


def test_an_admin_makes_a_bundle_with_its_components_and_limits(client, ctx, desk):
    crab = make_product("大闸蟹", skus=[("公蟹", 5000)]).skus[0]
    vinegar = make_product("镇江香醋", skus=[("250ml", 800)]).skus[0]
    sign_in(desk, make_staff("admin").username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.goto("/console/catalog")

    desk.get_by_role("button", name="新建商品").click()
    dialog = desk.get_by_role("dialog", name="新建商品")
    dialog.locator("#product-name").fill("蟹礼盒")
    dialog.locator(".sku-spec input").fill("4蟹1醋")
    dialog.locator(".sku-price input").fill("198")
    dialog.locator(".sku-limit-order input").fill("2")
    dialog.locator(".sku-limit-user input").fill("5")
    dialog.locator(".sku-bundle").check()
    dialog.locator(".component-sku").nth(0).select_option(label="大闸蟹 · 公蟹")
    dialog.locator(".component-qty input").nth(0).fill("4")
    dialog.get_by_role("button", name="添加组成").click()
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_contain_text("请为每个组成选择一个普通规格")   # the second is empty
    dialog.locator(".component-sku").nth(1).select_option(label="镇江香醋 · 250ml")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    products = desk.get_by_test_id("products-table")
    expect(products).to_contain_text("组合：大闸蟹 · 公蟹 ×4, 镇江香醋 · 250ml ×1")
    expect(products).to_contain_text("每单 ≤ 2 · 每人 ≤ 5")

    box = fresh(select(Sku).where(Sku.spec == "4蟹1醋")).one()
    assert (box.is_bundle, box.price_fen, box.limit_per_order, box.limit_per_user) == (True, 19800, 2, 5)
    assert sorted((c.component_sku_id, c.qty) for c in box.components) == [(crab.id, 4), (vinegar.id, 1)]

    # A plain SKU's limit, changed and then cleared (sent as null).
    crab_row = products.locator(f"tr[data-sku='{crab.id}']")
    crab_row.get_by_role("button", name="编辑").click()
    dialog = desk.get_by_role("dialog", name="编辑商品")
    dialog.locator(".sku-limit-user input").fill("3")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(crab_row).to_contain_text("每人 ≤ 3")
    assert fresh(select(Sku.limit_per_user).where(Sku.id == crab.id)).one() == 3
    crab_row.get_by_role("button", name="编辑").click()
    dialog = desk.get_by_role("dialog", name="编辑商品")
    dialog.locator(".sku-limit-user input").fill("")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(crab_row).not_to_contain_text("每人")
    assert fresh(select(Sku.limit_per_user).where(Sku.id == crab.id)).one() is None
