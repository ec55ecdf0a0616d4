"""Dagster definitions for the platform: thin assets, checks, sensors, schedules and jobs that
call into ``trading_runtime``. All I/O goes through the resources in ``resources.py``."""
