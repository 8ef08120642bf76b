"""The org core every API shares: state and sessions, the record store, the schema and its
describes, validation, the one record writer and its change events, the HTTP layer, TLS.

Nothing here imports an API package (`rest`, `bulk1`, `soap`, ...): they all build on it.
"""
