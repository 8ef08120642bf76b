"""The REST API of the fake org (`/services/data/vNN.0/...` and `/services/apexrest/...`):
versions, limits and describes, records, collections, composite, query, search, Apex REST.

Records are written through `org.records.Writer`, the path every API shares.
"""
