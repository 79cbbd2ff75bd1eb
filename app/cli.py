"""`flask ...` commands: staff accounts, demo data, keys."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.config import new_field_key
from app.extensions import db

staff_cli = AppGroup("staff", help="Staff accounts.")
demo_cli = AppGroup("demo", help="Demo data for the embedded default.")
keys_cli = AppGroup("keys", help="Secrets.")
stock_cli = AppGroup("stock", help="Stock ledger checks.")


@staff_cli.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "manager", "clerk", "analyst"]))
@click.option("--store", "store_ids", multiple=True, type=int, help="A store id; repeat for several.")
@click.option("--name", "display_name", default="")
@click.password_option(help="Prompted for (twice) when not given.")
def create_staff_command(username, role, store_ids, display_name, password):
    """Create a staff account (the first admin comes from here)."""
    from app.errors import AppError
    from models.staff.accounts import create_staff

    try:
        staff = create_staff(None, username=username, password=password, role=role,
                             store_ids=list(store_ids), display_name=display_name)
        db.session.commit()
    except AppError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.message} {exc.details or ''}".strip()) from None
    click.echo(f"created staff #{staff.id} {staff.username} ({role}) stores={staff.store_ids}")


@demo_cli.command("seed")
def seed_command():
    """Load the demo stores, products, stock and staff (development only)."""
    from app.demo import DEMO_STAFF, seed

    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("demo data is never loaded in production")
    created = seed()
    db.session.commit()
    card = created.pop("demo_card", None)
    click.echo(f"demo data: created {created}")
    for s in DEMO_STAFF:
        click.echo(f"  staff login: {s['username']} / {s['password']}  ({s['role']})")
    if card:  # its password exists nowhere else: shown this once
        click.echo(f"  pickup card: serial {card['serial']} / password {card['password']}  "
                   f"({card['what']}; shown only now)")


@keys_cli.command("generate")
def generate_keys_command():
    """Print fresh SECRET_KEY and FIELD_ENCRYPTION_KEY values for a production .env."""
    import secrets

    click.echo(f"SECRET_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"FIELD_ENCRYPTION_KEY={new_field_key()}")


@keys_cli.command("rotate-fields")
@click.option("--batch", default=500, show_default=True, help="Rows per transaction.")
def rotate_fields_command(batch):
    """Re-encrypt every encrypted column and recompute every lookup hash with
    FIELD_ENCRYPTION_KEY (the previous key in FIELD_ENCRYPTION_KEY_PREVIOUS); resumable.
    Exit 1 if anything could not be redone."""
    from app.crypto import cipher
    from models.keyrotation import rotate_fields

    if not cipher().rotating:
        click.echo("FIELD_ENCRYPTION_KEY_PREVIOUS is not set: only values without a key id are redone")
    click.echo(f"current key {cipher().key_id}")
    done = rotate_fields(batch, echo=click.echo)
    if done["failed"]:
        click.echo(f"{done['failed']} item(s) could not be redone (see above): keep "
                   "FIELD_ENCRYPTION_KEY_PREVIOUS and run again once they are fixed")
        raise SystemExit(1)
    click.echo("everything is under the current key (FIELD_ENCRYPTION_KEY_PREVIOUS may go once "
               "exports and parcels made before the rotation are done: docs/operations.md)")


@stock_cli.command("check")
@click.option("--incremental", is_flag=True,
              help="From the saved sums plus the movements since (a nightly run); a clean run saves them.")
def stock_check_command(incremental):
    """Compare every stock counter with the sum of its ledger; exit 1 on any mismatch."""
    from models.stock.check import check_incremental, check_ledger, inventory_rows

    if incremental:
        problems, read = check_incremental()
        db.session.commit()  # the checkpoint, when clean
        rows = inventory_rows()
    else:
        problems, rows = check_ledger(), inventory_rows()
        db.session.rollback()  # read-only
    if not problems:
        click.echo(f"ledger and counters agree ({rows} rows"
                   f"{f'; {read} movements since the checkpoint' if incremental else ''})")
        return
    for p in problems:
        click.echo(f"MISMATCH store={p['store_id']} sku={p['sku_id']} {p['field']}: "
                   f"counter={p['counter']} ledger={p['ledger']}")
    click.echo(f"{len(problems)} mismatch(es) in {rows} rows")
    raise SystemExit(1)


orders_cli = AppGroup("orders", help="Orders.")


@orders_cli.command("sweep")
def orders_sweep_command():
    """Time out unpaid orders past their deadline; auto-confirm old deliveries."""
    from app.tasks import run_deferred
    from models.orders.deadlines import sweep

    click.echo(f"orders sweep: {sweep()}")
    run_deferred()


aftersales_cli = AppGroup("aftersales", help="After-sales.")


@aftersales_cli.command("sweep")
def aftersales_sweep_command():
    """After-sale deadlines: auto-approve or escalate, close, receive; reminders; exchanges done."""
    from app.tasks import run_deferred
    from models.aftersales.deadlines import sweep

    click.echo(f"aftersales sweep: {sweep()}")
    run_deferred()


flash_cli = AppGroup("flash", help="Flash-sale gates.")


@flash_cli.command("resync")
def flash_resync_command():
    """Recount every flash-sale gate from the database (drops stale tickets)."""
    from models.stock.flash_sale import resync_all

    click.echo(f"flash-sale gates resynced: {resync_all()}")


pay_cli = AppGroup("pay", help="WeChat Pay: lost notifications, refunds, reconciliation.")


@pay_cli.command("query-pending")
def pay_query_pending_command():
    """Ask WeChat Pay about unpaid orders with a prepay but no notify; apply what was paid."""
    from app.tasks import run_deferred
    from models.payments.upstream import query_pending

    click.echo(f"payments: {query_pending()}")
    run_deferred()


@pay_cli.command("refunds")
def pay_refunds_command():
    """Submit pending refunds again and ask about those still processing."""
    from app.tasks import run_deferred
    from models.payments.refunds import query_unsettled

    click.echo(f"refunds looked at: {query_unsettled(older_than_s=0)}")
    run_deferred()


@pay_cli.command("reconcile")
@click.option("--date", "bill_date", default=None, help="YYYY-MM-DD (default: yesterday in China)")
def pay_reconcile_command(bill_date):
    """Compare the day's WeChat Pay trade bill with our payments and refunds."""
    from models.payments.reconcile import reconcile_day

    done = reconcile_day(bill_date)
    db.session.commit()
    day = done["bill_date"]
    if done["status"] == "no_bill":  # the same rule as the scheduled job: nothing to compare
        click.echo(f"reconciliation {day}: no bill (WeChat Pay makes none for a day without payments)")
        return
    click.echo(f"reconciliation {day}: {done['status']}, {done['differences']} difference(s), "
               f"{done['repairs']} repair(s) (report #{done['report_id']})")
    if done["status"] != "ok":
        raise SystemExit(1)


@pay_cli.command("complaint-url")
@click.option("--url", default=None, help="default: WECHATPAY_NOTIFY_BASE + /wechat/pay/complaint-notify")
def pay_complaint_url_command(url):
    """Register (or update) the WeChat Pay complaint notification URL; prints what WeChat holds."""
    from flask import current_app

    from app import wechat

    url = url or f"{current_app.config['WECHATPAY_NOTIFY_BASE']}/wechat/pay/complaint-notify"
    held = wechat.call_pay("complaint_url_set", wechat.pay().register_complaint_notification_url, url)
    click.echo(f"complaint notifications for {held.get('mchid')}: {held.get('url')}")


@pay_cli.command("complaints")
def pay_complaints_command():
    """Pull new WeChat Pay complaints and refresh the open ones (what the beat runs)."""
    from app.tasks import run_deferred
    from models.complaints.sync import pull

    click.echo(f"complaints: {pull()}")
    db.session.commit()
    run_deferred()


jobs_cli = AppGroup("jobs", help="Background jobs (what the Celery beat schedule runs).")


@jobs_cli.command("list")
def jobs_list_command():
    """The beat schedule: entry, task, when."""
    for name, entry in current_app.extensions["celery"].conf.beat_schedule.items():
        click.echo(f"{name:24} {entry['task']:26} {entry['schedule']}")


@jobs_cli.command("run")
@click.argument("name")
def jobs_run_command(name):
    """Run one scheduled job (by entry or task name) here and now, e.g. `outbox-dispatch`."""
    celery = current_app.extensions["celery"]
    schedule = celery.conf.beat_schedule
    task_name = schedule[name]["task"] if name in schedule else name
    if task_name not in celery.tasks or not task_name.startswith("tihuo."):
        raise click.ClickException(f"no such job: {name} (see `flask jobs list`)")
    outcome = celery.tasks[task_name].apply()
    if outcome.failed():
        raise click.ClickException(f"{task_name} failed: {outcome.result!r}")
    click.echo(f"{task_name}: {outcome.result}")


pickups_cli = AppGroup("pickups", help="Pickup: deadlines and the verification ledger.")


@pickups_cli.command("sweep")
def pickups_sweep_command():
    """Expire (and refund) pickups past their deadline; queue reminders before it."""
    from app.tasks import run_deferred
    from models.pickup.expiry import sweep

    click.echo(f"pickups sweep: {sweep()}")
    run_deferred()


@pickups_cli.command("verify-ledger")
@click.option("--incremental", is_flag=True,
              help="Only the rows after each store's checkpoint (a nightly run; a full run catches older edits).")
def pickups_verify_ledger_command(incremental):
    """Check every store's verification hash chain end to end (or from its checkpoint);
    exit 1 naming the first broken row of each broken chain. A clean run moves the checkpoints."""
    from models.pickup.ledger import check

    problems, rows = check(incremental=incremental)
    db.session.commit()  # the checkpoints of the clean chains
    if not problems:
        click.echo(f"verification ledger intact ({rows} rows{' since the checkpoints' if incremental else ''})")
        return
    for p in problems:
        row = f"row id={p['id']} seq={p['seq']}" if p["id"] is not None else f"seq={p['seq']}"
        click.echo(f"BROKEN store={p['store_id']} {row}: {p['problem']}")
    click.echo(f"{len(problems)} broken chain(s); {rows} rows checked")
    raise SystemExit(1)


analytics_cli = AppGroup("analytics", help="Report rollups: build and check.")


def _day_range(first: str | None, last: str | None, default_days: int):
    from datetime import date, timedelta

    from models.analytics import calendar

    try:
        end = date.fromisoformat(last) if last else calendar.today() - timedelta(days=1)
        start = date.fromisoformat(first) if first else end - timedelta(days=default_days - 1)
    except ValueError as exc:
        raise click.BadParameter(f"dates are YYYY-MM-DD ({exc})") from None
    return start, end


@analytics_cli.command("rollup")
@click.option("--from", "first", default=None, help="YYYY-MM-DD (default: the trailing window)")
@click.option("--to", "last", default=None, help="YYYY-MM-DD (default: yesterday in China)")
def analytics_rollup_command(first, last):
    """Rebuild the rollups of a range of days from the raw tables (idempotent)."""
    from models.analytics.rollup import build

    start, end = _day_range(first, last, current_app.config["ANALYTICS_ROLLUP_DAYS"])
    done = build(start, end)
    db.session.commit()
    click.echo(f"rollups {done['from']}..{done['to']}: {done['days']} day(s), {done['rows']} store row(s)")


@analytics_cli.command("check")
@click.option("--from", "first", default=None, help="YYYY-MM-DD (default: the trailing window)")
@click.option("--to", "last", default=None, help="YYYY-MM-DD (default: yesterday in China)")
def analytics_check_command(first, last):
    """Compare the built rollups of a range with the raw tables; exit 1 on a difference."""
    from models.analytics.rollup import differences

    start, end = _day_range(first, last, current_app.config["ANALYTICS_ROLLUP_DAYS"])
    found = differences(start, end)
    db.session.rollback()  # read-only
    for d in found:
        click.echo(f"DIFFERS {d['day']} store={d['store_id']} {d['figure']}: "
                   f"stored {d['stored']}, actual {d['actual']}")
    if found:
        click.echo(f"{len(found)} difference(s) in {start}..{end}")
        raise SystemExit(1)
    click.echo(f"rollups {start}..{end} match the raw tables")


users_cli = AppGroup("users", help="Shoppers.")


@users_cli.command("backfill-phone-tail")
@click.option("--batch", default=500, show_default=True, help="Users per transaction.")
def users_backfill_phone_tail_command(batch):
    """Give shoppers whose phone was bound before order search existed the hash of its last
    4 digits, so staff find their orders by 尾号. Run once after upgrading to
    0012_order_search; safe to stop and run again."""
    from models.users import backfill_phone_tails

    click.echo(f"phone tails backfilled: {backfill_phone_tails(batch)}")


def init_app(app: Flask) -> None:
    for group in (staff_cli, demo_cli, keys_cli, stock_cli, orders_cli, aftersales_cli, flash_cli, pay_cli,
                  pickups_cli, jobs_cli, analytics_cli, users_cli):
        app.cli.add_command(group)
