"""Performance contracts, each reported as a figure and a ratio to a baseline measured in the
same run (``make bench``). Never run as part of the test suite: the machine is noisy."""
