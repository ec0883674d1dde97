"""WSGI entry point for gunicorn: ``gunicorn edge.wsgi:app`` (settings from the file named by
PASSERELLE_CONFIG and the environment)."""

from edge.app import create_app

app = create_app()
