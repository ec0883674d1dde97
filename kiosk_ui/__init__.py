"""Passerelle: kiosk_ui."""
