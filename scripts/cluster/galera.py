"""A three-node MariaDB Galera cluster on loopback, for the scale test and the cluster
benchmark (never production: no TLS, root without a password, data in a temp dir).

    scripts/cluster/galera.sh start            # fresh datadirs, node 1 bootstraps, 2 and 3 join (SST)
    scripts/cluster/galera.sh status           # each node's wsrep state and the cluster size
    scripts/cluster/galera.sh kill N           # SIGKILL node N (a crash, not a shutdown)
    scripts/cluster/galera.sh restart N        # start node N again: it rejoins (IST from a peer)
    scripts/cluster/galera.sh stop             # shut every node down and remove the datadirs

Ports (GALERA_BASE_DIR overrides where the datadirs go):
    node N   SQL 340N   group communication 460N   IST 461N   SST (rsync) 462N

Each node is a plain `mariadbd` with its own config file, datadir, socket and pid file.
Node 1 is initialised with mariadb-install-db and bootstraps the cluster
(--wsrep-new-cluster); nodes 2 and 3 start empty and receive node 1's state by SST
(rsync), so the grants made on node 1 are everywhere. A restarted node keeps its datadir
and catches up by IST from the gcache (or SST when it fell too far behind).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymysql

NODES = (1, 2, 3)
BASE = Path(os.environ.get("GALERA_BASE_DIR", "/tmp/tihuo-galera"))
PROVIDER = "/usr/lib/galera/libgalera_smm.so"


def sql_port(n: int) -> int:
    return 3400 + n


def url(n: int, database: str) -> str:
    """The SQLAlchemy URL of node `n` (what DATABASE_URL is set to)."""
    return f"mysql+pymysql://root@127.0.0.1:{sql_port(n)}/{database}?charset=utf8mb4"


def _dir(n: int) -> Path:
    return BASE / f"node{n}"


def _config(n: int) -> Path:
    d = _dir(n)
    members = ",".join(f"127.0.0.1:{4600 + m}" for m in NODES)
    text = f"""[mysqld]
# As mysql, like a packaged server: its rsync SST daemon, started as root, would drop to
# nobody and could not write the joiner's datadir.
user=mysql
datadir={d}/data
socket={d}/mysqld.sock
pid-file={d}/mysqld.pid
log-error={d}/error.log
port={sql_port(n)}
bind-address=127.0.0.1
skip-name-resolve
max_connections=400
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
default_storage_engine=InnoDB
# Galera needs row-based replication and interleaved auto-increment locks (a statement's
# auto-increment lock can't be held across the cluster); each node then hands out ids
# with its own offset (wsrep_auto_increment_control).
binlog_format=ROW
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=96M
innodb_log_file_size=48M
# Durability comes from the other nodes holding the write set; flushing the redo log at
# every commit on a shared 2-core test machine would measure the disk, not the cluster.
innodb_flush_log_at_trx_commit=0
wsrep_on=ON
wsrep_provider={PROVIDER}
wsrep_cluster_name=tihuo
wsrep_cluster_address=gcomm://{members}
wsrep_node_name=node{n}
wsrep_node_address=127.0.0.1:{4600 + n}
wsrep_node_incoming_address=127.0.0.1:{sql_port(n)}
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:{4600 + n};ist.recv_addr=127.0.0.1:{4610 + n};gcache.size=128M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:{4620 + n}
wsrep_slave_threads=2
"""
    path = d / "my.cnf"
    path.write_text(text)
    return path


def _pid(n: int) -> int | None:
    """Node n's mariadbd, found by its config file's path on the command line (not by its
    pid file, which a removed datadir takes with it)."""
    wanted = f"--defaults-file={_dir(n) / 'my.cnf'}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in args and Path(args[0].decode(errors="replace")).name == "mariadbd":
            return int(proc.name)
    return None


def _connect(n: int, timeout: float = 2.0):
    return pymysql.connect(host="127.0.0.1", port=sql_port(n), user="root",
                           connect_timeout=timeout, read_timeout=timeout, autocommit=True)


def wsrep(n: int) -> dict:
    """Node n's wsrep status ({} when it doesn't answer)."""
    try:
        conn = _connect(n)
    except pymysql.MySQLError:
        return {}
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW STATUS LIKE 'wsrep_%'")
            return dict(cur.fetchall())
    except pymysql.MySQLError:
        return {}
    finally:
        conn.close()


def _start_node(n: int, *, bootstrap: bool = False) -> subprocess.Popen:
    cnf = _config(n)
    args = ["mariadbd", f"--defaults-file={cnf}"] + (["--wsrep-new-cluster"] if bootstrap else [])
    log = open(_dir(n) / "stdout.log", "ab")
    # A session of its own: the caller's Ctrl-C or process-group kill doesn't reach it.
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(n: int, timeout: float, what: str = "Synced", proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            deadline = 0  # it died (a failed SST ends the joiner): no point waiting
            break
        st = wsrep(n)
        if st.get("wsrep_local_state_comment") == what and st.get("wsrep_ready") == "ON":
            return
        time.sleep(0.5)
    tail = (_dir(n) / "error.log").read_text(errors="replace")[-3000:] if (_dir(n) / "error.log").exists() else ""
    raise RuntimeError(f"node {n} not {what} (within {timeout:.0f}s, or it exited)\n{tail}")


def wait_size(size: int = 3, timeout: float = 120.0, via: int | None = None) -> None:
    """Until some node (or `via`) sees a primary component of `size` nodes, all synced."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for n in ([via] if via else NODES):
            st = wsrep(n)
            if (st.get("wsrep_cluster_size") == str(size) and st.get("wsrep_cluster_status") == "Primary"
                    and st.get("wsrep_local_state_comment") == "Synced"):
                return
        time.sleep(0.5)
    raise RuntimeError(f"cluster size {size} not reached in {timeout:.0f}s: {status()}")


def start(timeout: float = 180.0) -> None:
    """A fresh cluster: node 1 bootstraps, 2 and 3 join one after the other."""
    stop(quiet=True)
    for n in NODES:
        for port in (sql_port(n), 4600 + n):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    raise RuntimeError(f"127.0.0.1:{port} is taken: another cluster (or server) is running")
    for n in NODES:
        (_dir(n) / "data").mkdir(parents=True)
    shutil.chown(BASE, "mysql", "mysql")
    for path in BASE.rglob("*"):
        shutil.chown(path, "mysql", "mysql")
    done = subprocess.run(["mariadb-install-db", f"--defaults-file={_config(1)}",
                           "--auth-root-authentication-method=normal", "--skip-test-db"],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"mariadb-install-db failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    _wait(1, timeout, proc=_start_node(1, bootstrap=True))
    # TCP root from 127.0.0.1 (install-db's "normal" root is @localhost, which with
    # skip-name-resolve matches the socket only); replicated to the joiners by SST.
    conn = pymysql.connect(unix_socket=str(_dir(1) / "mysqld.sock"), user="root", autocommit=True)
    with conn.cursor() as cur:
        cur.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
        cur.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
    conn.close()
    for n in NODES[1:]:
        _wait(n, timeout, proc=_start_node(n))
    wait_size(3, timeout)


def kill(n: int) -> None:
    """SIGKILL node n: what a crash or a power cut looks like to the others."""
    pid = _pid(n)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)


def restart(n: int, timeout: float = 180.0) -> None:
    """Start node n again with its datadir: it rejoins through a live peer (IST/SST)."""
    if _pid(n) is not None:
        return
    _wait(n, timeout, proc=_start_node(n))


def stop(quiet: bool = False) -> None:
    """Shut every node down (SIGTERM, then SIGKILL after 30 s) and remove the datadirs."""
    pids = [p for p in (_pid(n) for n in NODES) if p]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 30
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    shutil.rmtree(BASE, ignore_errors=True)
    if not quiet:
        print("galera: stopped")


def status() -> str:
    lines = []
    for n in NODES:
        st = wsrep(n)
        if not st:
            lines.append(f"node{n} 127.0.0.1:{sql_port(n)} down (pid {_pid(n)})")
            continue
        lines.append(f"node{n} 127.0.0.1:{sql_port(n)} {st.get('wsrep_local_state_comment')} "
                     f"cluster_size={st.get('wsrep_cluster_size')} status={st.get('wsrep_cluster_status')} "
                     f"ready={st.get('wsrep_ready')} cert_failures={st.get('wsrep_local_cert_failures')} "
                     f"bf_aborts={st.get('wsrep_local_bf_aborts')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["start", "stop", "status", "kill", "restart"])
    p.add_argument("node", nargs="?", type=int, choices=NODES)
    a = p.parse_args(argv)
    if a.command in ("kill", "restart") and a.node is None:
        p.error(f"{a.command} needs a node number")
    if a.command == "start":
        start()
        print(status())
    elif a.command == "stop":
        stop()
    elif a.command == "status":
        print(status())
    elif a.command == "kill":
        kill(a.node)
        print(status())
    else:
        restart(a.node)
        print(status())
    return 0


if __name__ == "__main__":
    sys.exit(main())
