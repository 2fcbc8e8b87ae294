"""Paiements models."""
