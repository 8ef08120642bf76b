"""Bulk API 2.0 of the fake org (`/services/data/vNN.0/jobs/ingest|query`): routes, jobs,
ingest processing and query results."""
