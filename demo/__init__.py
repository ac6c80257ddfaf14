"""The main job (``python -m demo``, what ``./dev up`` runs): the whole system on one machine, driven by a scenario.

Dev-only code beside the product: not in the wheel, and the product never imports it.
"""
