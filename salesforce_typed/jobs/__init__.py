"""What every Bulk job has, whichever API runs it: Bulk 1.0 (`bulk1/`) and 2.0 (`bulk2/`).

`csv_chunks.py` is the CSV codec (dialects, quoting, splitting uploads, streaming parse,
column checks), `polling.py` the poll backoff, `row_errors.py` the `sf__Error` cell. Nothing
here imports either API, so both import it freely; the public names are re-exported from
`salesforce_typed.bulk`.
"""
