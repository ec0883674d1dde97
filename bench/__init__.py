"""The benchmark harness (``make bench``): Passerelle against the bare stack it is built on,
measured side by side in the same run. Outside the test suite: no timing assertions there."""
