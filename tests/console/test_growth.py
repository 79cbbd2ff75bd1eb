"""The Growth page (增长) in Chromium: an admin adds a member level in yuan (stored in fen),
creates an invitation campaign with two tiers (points, and a coupon open to the invitation
channel) and ends it early, saves a segment, previews it (members, 可触达) in the dialog
that starts a campaign, starts one and opens its results; after a reload every row is
still there, read back from the server."""
from __future__ import annotations

import os
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from models.growth import coupons
from models.growth.tables import Campaign, CampaignMember, CouponTemplate, InvitationCampaign, MemberLevel, PointLot, Segment
from models.notifications.tables import SubscribeGrant
from tests.console.conftest import SCREENSHOTS
from tests.console.test_counter import sign_in
from tests.factories import make_shopper, make_staff
from tests.models.growth.test_campaigns import scored


def shoot(desk, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        desk.wait_for_timeout(500)  # the tab's underline slides over: a still picture, not a check
        desk.screenshot(path=str(SCREENSHOTS / f"growth-{name}.png"), full_page=True)


def test_an_admin_runs_invitations_levels_segments_and_campaigns(client, ctx, desk):
    coupons.create_template(None, {"name": "只能领取的券", "kind": "fixed", "amount_fen": 500, "valid_days": 30,
                                   "channels": ["claim"]})
    db.session.commit()
    dormant = [make_shopper()[0] for _ in range(12)]
    scored(dormant, "dormant")
    scored([make_shopper()[0]], "loyal")
    db.session.add_all([SubscribeGrant(user_id=u.id, template_id="TPL_CAMPAIGN", remaining=1) for u in dormant[:5]])
    db.session.commit()

    sign_in(desk, make_staff("admin").username)

    # A coupon open to invitation rewards, made on the coupons page (its channels).
    desk.get_by_role("menuitem", name="优惠券与积分", exact=True).click()
    desk.get_by_test_id("new-coupon").click()
    dialog = desk.get_by_role("dialog")
    dialog.locator("input[name=coupon-name]").fill("邀请五人券")
    dialog.locator("input[name=coupon-amount]").fill("10")
    dialog.locator("input[name=coupon-min-spend]").fill("50")
    dialog.get_by_test_id("coupon-channels").get_by_text("邀请奖励").click()
    dialog.get_by_role("button", name="保存").click()
    expect(desk.locator("tr[data-template='邀请五人券']")).to_be_visible()
    db.session.expire_all()
    template = db.session.scalars(select(CouponTemplate).where(CouponTemplate.name == "邀请五人券")).one()
    assert template.channels == ["claim", "invitation"]

    desk.get_by_role("menuitem", name="增长", exact=True).click()
    expect(desk).to_have_url(re.compile(r"/console/growth"))

    # 会员等级: ¥1,000.50 is 100050 fen.
    desk.get_by_role("tab", name="会员等级").click()
    desk.get_by_test_id("new-level").click()
    dialog = desk.get_by_role("dialog")
    dialog.locator("input[name=level-name]").fill("金卡")
    dialog.locator("input[name=level-min-spend]").fill("1,000.50")
    dialog.locator("input[name=level-points-percent]").fill("150")
    dialog.get_by_text("优先备货").click()
    dialog.get_by_role("button", name="保存").click()
    level = desk.locator("tr[data-level='金卡']")
    expect(level).to_contain_text("¥1,000.50")
    expect(level).to_contain_text("积分 ×1.5，优先备货")
    db.session.expire_all()
    made = db.session.scalars(select(MemberLevel)).one()
    assert (made.name, made.min_spend_fen, made.points_percent, made.priority_pickup) == ("金卡", 100050, 150, True)
    shoot(desk, "levels")

    # 邀请有礼: two tiers, checked before sending; only templates open to invitations offered.
    desk.get_by_role("tab", name="邀请有礼").click()
    desk.get_by_test_id("new-invitation").click()
    dialog = desk.get_by_role("dialog")
    dialog.locator("input[name=invitation-name]").fill("双十二邀请")
    dialog.locator("input[name=invitation-min-order]").fill("19.9")
    dialog.locator("input[name=tier-0-points]").fill("300")
    second = dialog.locator("[data-tier='1']")
    second.get_by_text("优惠券", exact=True).click()
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_contain_text("请为优惠券阶梯选择一张券")
    options = second.locator("select[name=tier-1-template] option")
    expect(options).to_have_text(["—", f"#{template.id} 邀请五人券"])
    second.locator("select[name=tier-1-template]").select_option(str(template.id))
    dialog.get_by_role("button", name="保存").click()
    row = desk.locator("tr[data-invitation='双十二邀请']")
    expect(row).to_contain_text("满 3 人 → 300 积分")
    expect(row).to_contain_text(f"满 5 人 → 券 #{template.id} 邀请五人券")
    expect(row).to_contain_text("首单满 ¥19.90")
    expect(row).to_contain_text("进行中")
    db.session.expire_all()
    campaign = db.session.scalars(select(InvitationCampaign)).one()
    assert campaign.min_order_fen == 1990
    assert campaign.tiers == [{"invitees": 3, "reward": {"kind": "points", "points": 300}},
                              {"invitees": 5, "reward": {"kind": "coupon", "template_id": template.id}}]
    shoot(desk, "invitations")
    row.get_by_role("button", name="提前结束").click()
    expect(row).to_contain_text("已结束")
    db.session.expire_all()
    assert db.session.get(InvitationCampaign, campaign.id).active is False

    # 人群与活动: a segment, its preview before starting, the campaign and its results.
    desk.get_by_role("tab", name="人群与活动").click()
    desk.get_by_test_id("new-segment").click()
    dialog = desk.get_by_role("dialog")
    dialog.locator("input[name=segment-name]").fill("沉睡顾客")
    dialog.get_by_test_id("segment-rfm").get_by_text("沉睡", exact=True).click()
    dialog.get_by_role("button", name="保存").click()
    seg_row = desk.locator("tr[data-segment='沉睡顾客']")
    expect(seg_row).to_contain_text("全部门店 · 沉睡")
    db.session.expire_all()
    assert db.session.scalars(select(Segment)).one().rules == {"segments": ["dormant"]}
    seg_row.get_by_role("button", name="预览").click()
    expect(seg_row.locator("[data-col=members]")).to_have_text("12")
    expect(seg_row.locator("[data-col=reachable]")).to_have_text("5")

    seg_row.get_by_role("button", name="发起活动").click()
    dialog = desk.get_by_role("dialog")
    expect(dialog.get_by_test_id("start-preview")).to_contain_text("共 12 人，其中可触达 5 人")
    dialog.locator("input[name=campaign-name]").fill("唤醒沉睡")
    dialog.locator("input[name=campaign-points]").fill("200")
    dialog.locator("input[name=campaign-holdout]").fill("25")
    dialog.locator("input[name=campaign-per-run]").fill("100")
    dialog.get_by_role("button", name="发起活动").click()
    camp_row = desk.locator("tr[data-campaign='唤醒沉睡']")
    expect(camp_row).to_contain_text("200 积分")
    db.session.expire_all()
    started = db.session.scalars(select(Campaign)).one()
    assert (started.members, started.holdout_percent, started.per_run) == (12, 25, 100)
    held = len(db.session.scalars(select(CampaignMember).where(CampaignMember.campaign_id == started.id,
                                                               CampaignMember.holdout.is_(True))).all())
    expect(camp_row).to_contain_text(f"{held}（25%）")
    shoot(desk, "segments")

    camp_row.get_by_role("button", name="效果").click()
    report = desk.get_by_test_id("campaign-report")
    expect(report.locator("tr[data-group=treated] td").nth(1)).to_have_text(str(12 - held))
    expect(report.locator("tr[data-group=holdout] td").nth(1)).to_have_text(str(held))
    expect(report.locator("tr[data-group=treated] td").nth(2)).to_have_text("0")
    expect(report.get_by_test_id("complete")).to_have_text("观察期未结束，结果仍会变化")
    expect(report.get_by_test_id("uplift")).to_contain_text("提升：")
    desk.keyboard.press("Escape")

    # After a reload: what the page shows is the server's.
    desk.reload()
    expect(desk.locator("tr[data-campaign='唤醒沉睡']")).to_contain_text("沉睡顾客")
    expect(desk.locator("tr[data-segment='沉睡顾客']")).to_be_visible()
    desk.get_by_role("tab", name="邀请有礼").click()
    expect(desk.locator("tr[data-invitation='双十二邀请']")).to_contain_text("已结束")
    desk.get_by_role("tab", name="会员等级").click()
    expect(desk.locator("tr[data-level='金卡']")).to_contain_text("¥1,000.50")

    # 积分规则: the settings, read-only.
    desk.get_by_role("tab", name="积分规则").click()
    expect(desk.get_by_test_id("points-rules").locator("tr[data-rule=perYuan]")).to_contain_text("100 积分抵 ¥1")
    shoot(desk, "points")
    user = dormant[0]
    desk.locator("input[name=grant-user]").fill(str(user.id))
    desk.locator("input[name=grant-points]").fill("300")
    with desk.expect_response(re.compile(r"/api/admin/points/grants$")) as granted:
        desk.get_by_role("button", name="发放").click()
    assert granted.value.status == 201 and granted.value.request.headers["idempotency-key"]
    expect(desk.get_by_text(f"已向顾客 #{user.id} 发放 300 积分")).to_be_visible()
    db.session.expire_all()
    assert [lot.amount for lot in db.session.scalars(select(PointLot).where(PointLot.user_id == user.id))] == [300]
