"""Passerelle: hardware."""
