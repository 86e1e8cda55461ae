"""Reusable widgets of the Casparian TUI."""
