"""gunicorn reads ./gunicorn.conf.py by default (unless given --config): the project's
server-side checks (app/serving.py). A config of your own should import them too:
`from app.serving import on_starting`."""
from app.serving import on_starting  # noqa: F401  (a gunicorn hook, found by its name)
