"""The asyncio live loop: market data -> features -> model -> strategy/risk -> orders;
trade updates -> book and ledger; model hot-reload; reconciliation; clean shutdown."""
