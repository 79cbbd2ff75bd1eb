"""Two first logins of the same WeChat user at the same moment make one user, not two
and not an error (the unique openid decides; the loser re-reads). Real threads, real
connections: on MariaDB this exercises InnoDB's unique-index locking."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.extensions import db
from models.users import User, login_with_wechat


def test_simultaneous_first_logins_make_one_user(app):
    barrier = threading.Barrier(4)
    results, errors = [], []

    def first_login(i):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                user, is_new = login_with_wechat({"openid": "o-race", "session_key": f"k{i}AAAAAAAAAAAAAAAAAAA=="})
                db.session.commit()
                results.append((user.id, is_new))
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first_login, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len({uid for uid, _ in results}) == 1 and len(results) == 4
    assert [new for _, new in results].count(True) >= 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
