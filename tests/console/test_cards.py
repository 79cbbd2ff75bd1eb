"""The pickup cards page in Chromium: an admin creates a batch, exports its passwords
(a background job, followed with a progress bar), downloads the CSV through the session
cookie and confirms receipt — after which the passwords cannot be downloaded again."""
from __future__ import annotations

import csv
import io
import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.cards.tables import Card, CardBatch, CardExport
from tests.console.conftest import SCREENSHOTS
from tests.console.test_counter import sign_in
from tests.factories import make_product, make_staff

CARDS = 150  # more than one chunk of the job (models.cards.exports.CHUNK)


@pytest.fixture
def fast_hashes(app, monkeypatch):
    # Production hashes with CARD_PASSWORD_ITERATIONS; the live server reads this config.
    monkeypatch.setitem(app.config, "CARD_PASSWORD_ITERATIONS", 1000)


def test_a_card_batch_exported_with_progress_and_downloaded(client, ctx, desk, fast_hashes):
    make_product("阳澄湖大闸蟹", skus=[("4对", 39800)])
    admin = make_staff("admin")
    sign_in(desk, admin.username)
    expect(desk).to_have_url(re.compile(r"/console/dashboard$"))
    desk.get_by_role("menuitem", name="提货卡", exact=True).click()
    expect(desk).to_have_url(re.compile(r"/console/cards$"))

    # A batch, through the page.
    desk.get_by_role("button", name="新建批次").click()
    dialog = desk.get_by_role("dialog", name="新建批次")
    dialog.locator("#batch-name").fill("中秋提货卡")
    dialog.locator("#batch-sku").select_option(label="阳澄湖大闸蟹 · 4对")
    dialog.locator("#batch-count").fill(str(CARDS))
    dialog.get_by_role("button", name="创建").click()
    expect(dialog).to_be_hidden()
    db.session.expire_all()
    batch = db.session.scalars(select(CardBatch).where(CardBatch.name == "中秋提货卡")).one()
    row = desk.locator(f"[data-testid=batches-table] tr[data-batch='{batch.id}']")
    expect(row).to_contain_text(f"待导出 {CARDS}")

    # Export: the job runs after the answer; the page follows it to the end.
    row.get_by_role("button", name="导出密码").click()
    dialog = desk.get_by_role("dialog", name=re.compile("导出卡密"))
    expect(dialog.get_by_test_id("export-status")).to_have_text("已生成，等待下载", timeout=30_000)
    expect(dialog.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(dialog).to_contain_text(f"已生成 {CARDS} / {CARDS}")

    # Download through the session cookie: one line per card, serial and password.
    with desk.expect_download() as info:
        dialog.get_by_role("button", name="下载 CSV").click()
    download = info.value
    assert download.suggested_filename == f"card-batch-{batch.id}.csv"
    text = open(download.path(), encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    db.session.expire_all()
    serials = set(db.session.scalars(select(Card.serial).where(Card.batch_id == batch.id)))
    assert len(rows) == CARDS
    assert {r["serial"] for r in rows} == serials
    assert all(re.fullmatch(r"[0-9A-Za-z]{4}( [0-9A-Za-z]{4})+", r["password"]) for r in rows)
    expect(dialog).to_contain_text("已下载 1 次")

    # Confirming warns first, then destroys the passwords: a second download is refused.
    expect(dialog).to_contain_text("再也无法显示或下载")
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        desk.wait_for_timeout(800)  # the bar's and the dialog's transitions
        desk.screenshot(path=str(SCREENSHOTS / "cards-export.png"))
    confirm = dialog.get_by_role("button", name="确认已收到")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("我已保存好 CSV 文件").check()
    confirm.click()
    expect(dialog.get_by_test_id("export-status")).to_have_text("已确认收到")
    expect(dialog.get_by_role("button", name=re.compile("下载"))).to_have_count(0)

    job = db.session.scalars(select(CardExport).where(CardExport.batch_id == batch.id)).one()
    db.session.refresh(job)
    assert (job.status, job.downloads, job.result_enc) == ("delivered", 1, None)
    again = desk.request.get(f"/api/admin/card-exports/{job.id}/csv")  # the page's own cookie
    assert again.status == 410
    assert again.json()["error"]["code"] == "card_export_delivered"

    # Closing the dialog: the batch shows it was exported, its cards issued.
    dialog.get_by_role("button", name="关闭").first.click()
    expect(row).to_contain_text(f"未激活 {CARDS}")
    expect(row).to_contain_text("已导出")
