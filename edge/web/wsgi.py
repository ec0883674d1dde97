"""WSGI entry point for gunicorn: ``gunicorn edge.wsgi:app`` (settings from the file named by
PASSERELLE_CONFIG and the environment)."""

from edge.system import logs
from edge.web.app import create_app

app = create_app()
_settings = app.config["SETTINGS"]
logs.setup(_settings.log_level, _settings.log_format)  # gunicorn's and the app's lines, redacted
