"""WSGI entry point for gunicorn: ``gunicorn edge.wsgi:app`` (settings from the file named by
PASSERELLE_CONFIG and the environment)."""

from edge.system import logs
from edge.web.app import create_app

app = create_app()
logs.setup(app.config["SETTINGS"].log_level)  # gunicorn's and the app's lines, redacted
