"""Receivers of the conventions' signals."""
