"""`make demo`: the whole product on the embedded fake org, no Salesforce needed.

    python -m salesforce_typed.demo

One module per section, run in this order by `__main__.py`:

1. `__main__`  start a local fake org over TLS with a custom object (`invoice.py`);
2. `generate`  generate a typed package from that live org, as a user would;
3. `rest`      typed REST: CRUD, upsert, collections, queries, composite, SOSL, rotation;
4. `bulk`      Bulk API 2.0: a 20,000-row ingest that reconciles, then typed and CSV extracts;
5. `soap`      SOAP convertLead, the created records read back typed over REST;
6. `cdc`       Change Data Capture events arriving at a listener while REST writes happen.

What must stay true: every section checks what it shows (`output.check`) and a failed check
exits non-zero, so `tests/test_demo.py` can trust the printed evidence.
"""
