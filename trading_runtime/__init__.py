"""Trading runtime: the library and the engine of the platform (never imports dagster)."""
