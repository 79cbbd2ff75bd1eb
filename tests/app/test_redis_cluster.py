"""The app on a Redis Cluster (REDIS_URL=redis+cluster://...): a real six-node cluster on
loopback (scripts/cluster/redis_cluster.sh, three primaries and a replica each), a second
app on it beside the session's, the MariaDB test database under both.

- the flow that touches every kind of key: a shopper's login (session and its index),
  a staff login refused past its failure limit (both counters in one script), an order
  through the flash-sale gate (the store's slot), paying it by the sandbox's notify,
  cancelling one (units back), a partner token;
- a primary failing over mid-traffic: requests get 201 or 503, never a 500; once the
  replica has taken over they succeed again without a restart; the gate loses no units
  and, after a resync, agrees with the database; the stock ledger holds.

MariaDB run only (a second app on a real database, and redis-server on the machine)."""
from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from redis.cluster import ClusterNode, RedisCluster
from sqlalchemy import select

from app import create_app
from app.extensions import db, rds
from models.stock.check import check_ledger
from models.stock.flash_sale import gate, resync_all
from models.stock.tables import Inventory
from tests.app.test_errors import assert_error
from tests.conftest import ClosingClient, _free_port, backend_is_mysql
from tests.factories import PASSWORD, bearer, make_product, make_shopper, make_staff, make_store, stock

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster" / "redis_cluster.sh"
# The script's ports unless TEST_REDIS_CLUSTER_PORTS names six others (space-separated).
PORTS = tuple(int(p) for p in os.environ.get("TEST_REDIS_CLUSTER_PORTS", "7101 7102 7103 7104 7105 7106").split())
URL = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in PORTS[:3])

pytestmark = pytest.mark.skipif(not backend_is_mysql() or not shutil.which("redis-server"),
                                reason="a second app on the cluster needs MariaDB and redis-server")


def cluster_cmd(*args: str) -> str:
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"redis_cluster.sh {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The cluster, for this module only (its own data directory); stopped at the end."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORTS[0])) == 0:  # never take over, or stop, another's
            pytest.fail(f"something listens on {PORTS[0]} already: stop it, or set TEST_REDIS_CLUSTER_PORTS")
    os.environ["REDIS_CLUSTER_DIR"] = str(tmp_path_factory.mktemp("redis-cluster"))
    os.environ["REDIS_CLUSTER_PORTS"] = " ".join(map(str, PORTS))
    cluster_cmd("start")
    direct = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in PORTS[:3]],
                          decode_responses=True)
    try:
        yield direct
    finally:
        direct.close()
        cluster_cmd("stop")
        os.environ.pop("REDIS_CLUSTER_DIR", None)
        os.environ.pop("REDIS_CLUSTER_PORTS", None)


@pytest.fixture(scope="module")
def on_cluster(app, settings, cluster):
    """A second app whose Redis is the cluster, serving WeChat Pay's notifications on a
    port of its own (the session's `app` made the schema)."""
    from werkzeug.serving import make_server

    port = _free_port()
    web = create_app(settings.model_copy(update={
        "REDIS_URL": URL, "REDIS_TIMEOUT_S": 1.0, "POOL_TIMEOUT_S": 2.0,
        "WECHATPAY_NOTIFY_BASE": f"http://127.0.0.1:{port}"}))
    web.test_client_class = ClosingClient
    server = make_server("127.0.0.1", port, web, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield web
    server.shutdown()
    with web.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _flush_cluster(cluster):
    yield
    cluster.nodes_manager.initialize()  # a test may have moved a primary
    cluster.flushdb()  # every primary's keys (the session's own Redis is flushed by conftest)


def _sale(web, units: int):
    client = web.test_client()
    with web.app_context():
        store = make_store()
        sku = make_product("茅台", skus=[("500ml", 149900)]).skus[0]
        stock(store, sku, units)
        admin = make_staff("admin")
        store_id, sku_id, username = store.id, sku.id, admin.username
    login = client.post("/api/staff/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.json
    admin_headers = bearer(login.json["token"])
    switched = client.put(f"/api/admin/stores/{store_id}/inventory/{sku_id}/flash-sale",
                          headers=admin_headers, json={"enabled": True})
    assert switched.status_code == 200, switched.json
    return store_id, sku_id, admin_headers


def _order(store_id, sku_id, qty=1):
    return {"store_id": store_id, "fulfillment": "pickup", "items": [{"sku_id": sku_id, "qty": qty}]}


def test_the_app_runs_on_the_cluster(on_cluster, cluster, sandbox):
    web, client = on_cluster, on_cluster.test_client()
    assert client.get("/readyz").json["checks"]["redis"] == "ok"
    store_id, sku_id, admin = _sale(web, 10)
    # The gate's keys are where the documented layout puts them: one slot for the store.
    tokens_key, pending_key = f"flash:{{{store_id}}}:{sku_id}:tokens", f"flash:{{{store_id}}}:{sku_id}:pending"
    assert cluster.get(tokens_key) == "10" and cluster.keyslot(tokens_key) == cluster.keyslot(pending_key)

    issued = requests.post(f"{sandbox.base_url}/_/login-codes", json={"user": "cluster"}, timeout=5).json()
    login = client.post("/api/auth/login", json={"code": issued["code"]})
    assert login.status_code == 200, login.json
    shopper = bearer(login.json["token"])
    placed = client.post("/api/orders", headers=shopper, json=_order(store_id, sku_id, 2))
    assert placed.status_code == 201, placed.json
    assert cluster.get(tokens_key) == "8" and cluster.hlen(pending_key) == 0  # taken, then settled
    params = client.post(f"/api/orders/{placed.json['order_no']}/pay", headers=shopper).json
    paid = requests.post(f"{sandbox.base_url}/_/pay/request-payment", json=params, timeout=10)
    assert paid.status_code == 200, paid.text
    deadline, status = time.monotonic() + 20, None
    while status != "paid" and time.monotonic() < deadline:  # the notify reaches this app
        status = client.get(f"/api/orders/{placed.json['order_no']}", headers=shopper).json["status"]
        time.sleep(0.1) if status != "paid" else None
    assert status == "paid"

    second = client.post("/api/orders", headers=shopper, json=_order(store_id, sku_id, 3)).json
    assert cluster.get(tokens_key) == "5"
    cancelled = client.post(f"/api/orders/{second['order_no']}/cancel", headers=shopper, json={})
    assert cancelled.status_code == 200, cancelled.json
    assert cluster.get(tokens_key) == "8"  # the cancelled order's units are back in the gate
    assert_error(client.post("/api/orders", headers=shopper, json=_order(store_id, sku_id, 9)), 409, "out_of_stock")

    # Failure limits: the account's and the address's counters in one script, one slot.
    with web.app_context():
        member = make_staff("clerk")
        username = member.username
    answers = [client.post("/api/staff/login", json={"username": username, "password": "wrong-password"}
                           ).status_code for _ in range(web.config["STAFF_LOGIN_MAX_ATTEMPTS"] + 1)]
    assert answers[-1] == 429 and set(answers[:-1]) == {401}
    counters = [k for k in cluster.scan_iter("ratelimit:*", target_nodes=RedisCluster.ALL_NODES)]
    assert len(counters) == 2 and len({cluster.keyslot(k) for k in counters}) == 1

    # Log out everywhere: the sessions of one principal, in many slots, all end.
    staff_tokens = []
    with web.app_context():
        from app.sessions import issue_token, resolve_token, revoke_all

        staff_tokens = [issue_token("staff", 99, 600)[0] for _ in range(5)]
        assert len({cluster.keyslot(rds().zrange("sessions:staff:99", 0, -1)[i]) for i in range(5)}) > 1
        revoke_all("staff", 99)
        assert [resolve_token(t) for t in staff_tokens] == [None] * 5


def test_a_primary_fails_over_mid_traffic(on_cluster, cluster):
    web = on_cluster
    store_id, sku_id, _ = _sale(web, 100_000)
    tokens_key = f"flash:{{{store_id}}}:{sku_id}:tokens"
    victim = cluster.get_node_from_key(tokens_key).port  # the primary of the gate's slot
    with web.app_context():
        shoppers = [make_shopper()[1] for _ in range(4)]
    answers: list[tuple[float, int]] = []  # (when, status) of every request
    bodies: list[str] = []
    stop = threading.Event()

    def buyer(headers):
        client = web.test_client()
        while not stop.is_set():
            resp = client.post("/api/orders", headers=headers, json=_order(store_id, sku_id))
            answers.append((time.monotonic(), resp.status_code))
            if resp.status_code not in (201, 503):
                bodies.append(resp.get_data(as_text=True))
            if resp.status_code == 503:
                assert resp.json["error"]["code"] == "unavailable"
                time.sleep(0.05)

    threads = [threading.Thread(target=buyer, args=(h,)) for h in shoppers]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        killed_at = time.monotonic()
        cluster_cmd("kill-primary", str(victim))
        cluster_cmd("wait-promoted", str(victim))
        promoted_at = time.monotonic()
        deadline = promoted_at + 20
        while time.monotonic() < deadline:  # until 20 orders in a row went through
            time.sleep(0.2)
            if sum(1 for _ in itertools.takewhile(lambda a: a[1] == 201, reversed(answers))) >= 20:
                break
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    statuses = Counter(status for _, status in answers)
    last_503 = max(when for when, status in answers if status == 503)
    print(f"answers {dict(statuses)}; failover took {promoted_at - killed_at:.1f} s, "
          f"the last 503 came {last_503 - promoted_at:+.1f} s after it")
    assert not bodies, bodies[:3]  # never a 500 (nor anything but placed or unavailable)
    assert statuses[201] > 0 and statuses[503] > 0, statuses  # the kill was felt
    # Once the replica has taken over, the app finds it by itself (no restart): the
    # 503s stop, and orders go through again.
    assert sum(1 for when, status in answers if status == 201 and when > last_503) >= 20

    cluster_cmd("restart-node", str(victim))  # back as a replica, for whatever runs next
    with web.app_context():
        inv = db.session.scalars(select(Inventory).where(Inventory.store_id == store_id)).one()
        available = inv.on_hand - inv.reserved
        pending = sum(int(v.split(":")[0]) for v in rds().hvals(f"flash:{{{store_id}}}:{sku_id}:pending"))
        # No unit lost: what the gate holds plus what it handed out but has not settled
        # covers what the database has left (replication is asynchronous: a take that had
        # not reached the replica comes back as a unit too many, never one too few).
        assert gate().tokens(store_id, sku_id) + pending >= available
        resync_all(stale_after_s=0)  # what the periodic job does (`flask flash resync`)
        assert gate().tokens(store_id, sku_id) == available
        assert check_ledger() == []
        db.session.rollback()
    cluster_cmd("wait-replicas")
