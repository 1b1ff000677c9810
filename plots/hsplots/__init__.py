"""Figures of hesscale-cli results (see plots/README.md)."""
