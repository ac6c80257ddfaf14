"""What the tests, the benchmarks and the demo share to drive the hub from outside: free ports, a topic tap.

Not part of the product (not in the wheel); the product never imports it (pyproject ``[tool.importlinter]``).
"""
