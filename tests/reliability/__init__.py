"""The reliability suite: the engine against the emulator as separate processes, with faults.

``python -m tests.reliability`` (``make reliability``) runs every row and prints one table;
``tests/reliability/test_reliability.py`` runs the short rows in the normal test run and the
long ones under the ``reliability`` marker. See :mod:`tests.reliability.rows`.
"""
