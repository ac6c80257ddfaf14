"""An adapter written from ``docs/adapters.md`` alone: the proof that an outside team can connect (issue 16).

Nothing here imports this project (``hub``, ``agents``, ``topics``, ``support``, ``bench``, ``demo``, ``tests``):
only the standard library, aiokafka, fastavro and cryptography, the committed ``.avsc`` files and values the
guide states.  ``tests/unit/test_outside_adapter_imports.py`` keeps it so.  Modules: :mod:`.wire` (single-object
Avro, guide §3), :mod:`.connection` (logins, topics, groups, §1-2), :mod:`.seal` (§5), :mod:`.registry`
(``registry.keys``, §6), :mod:`.court` and :mod:`.bank` (§4, §7), :mod:`.list_copy` (the list digest and the
bootstrap of a joint-punishment unit, §12).
"""
