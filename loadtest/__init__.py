"""Locust scenarios against a running edge (see flash_crowd.py)."""
