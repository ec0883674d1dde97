"""Passerelle: sync."""
