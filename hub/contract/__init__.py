"""The hub's AsyncAPI 3.0 contract, generated from the topic catalog and the Avro schemas.

``interop-hub contract`` writes ``docs/asyncapi.yaml`` (:mod:`hub.contract.commands`); the document itself is
built by one pure function (:func:`hub.contract.asyncapi.build_document`) from what the code already uses:
the catalog (:mod:`topics.catalog`: topics, keys, partitions, retention, producers and consumers, ACLs and
consumer groups), the schemas (``schemas/avro``, each message made standalone by
:mod:`hub.contract.avro_payload`), what each record key is (:mod:`hub.contract.record_keys`) and the record
headers the hub sets (:mod:`hub.contract.record_headers`).
"""
