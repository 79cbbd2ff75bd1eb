"""gunicorn reads ./gunicorn.conf.py by default (unless given --config): the project's
server-side checks (app/serving.py) and its shutdown. A config of your own should import
them too: `from app.serving import on_starting` and set the same graceful_timeout."""
from app.serving import on_starting  # noqa: F401  (a gunicorn hook, found by its name)

# SIGTERM (a deploy, `systemctl stop`): the master closes the listening socket and each
# worker stops accepting, then finishes the requests it is in, for up to this long, before
# it is killed. It is above what any request should take: a database read gives up after
# DATABASE_READ_TIMEOUT_S (10 s), a Redis reply after REDIS_TIMEOUT_S, a WeChat call after
# WECHAT_TIMEOUT_S. A request killed past it had not committed (one transaction per
# request: the database rolls it back when the connection drops; its after-commit work
# is what the periodic jobs pick up: the outbox dispatch, the flash gate's resync).
# Whatever stops the server must wait longer (systemd: TimeoutStopSec above this).
graceful_timeout = 30
