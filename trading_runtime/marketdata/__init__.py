"""Market data: exchange calendar, universe, bar sources (synthetic, Alpaca, files)."""
