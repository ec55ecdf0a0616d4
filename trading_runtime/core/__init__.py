"""The decision core shared by the live engine and the backtester: the in-memory book and
the one-minute decision step (predictions -> strategy -> risk). Pure: no I/O, no clock."""
