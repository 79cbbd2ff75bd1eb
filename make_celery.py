"""Entry point of the Celery worker and beat (like wsgi.py for the web):

    celery -A make_celery worker --loglevel INFO
    celery -A make_celery beat --loglevel INFO      # exactly one, anywhere
"""
from app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
