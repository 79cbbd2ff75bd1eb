"""gunicorn settings of `scripts/dev` (one worker): the beat schedule runs on a thread of
that worker when no Celery worker is configured, so the embedded default needs nothing
else. Production runs `celery -A make_celery worker` and `beat` instead."""
from app.serving import on_starting  # noqa: F401  (gunicorn.conf.py's check: one worker here)


def post_worker_init(worker):
    from app.celery_app import start_in_process_beat

    start_in_process_beat(worker.wsgi)
