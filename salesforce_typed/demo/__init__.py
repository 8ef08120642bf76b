"""`make demo`: the whole product on the embedded fake org, no Salesforce needed.

    python -m salesforce_typed.demo

One module per section, run in this order by `__main__.py`:

1. `__main__`  start a local fake org over TLS with a custom object (`invoice.py`);
2. `login`     `salesforce-typed login` (web-server flow, PKCE) with httpx as the browser,
               into a file store under a private `SALESFORCE_TYPED_HOME`; then
               `Salesforce.from_alias("demo")`, the client of every later section;
3. `rotation`  under Refresh Token Rotation, a store that lost its data (Redis keys deleted,
               or an emptied memory store) gets the newest token written back, never the seed;
4. `generate`  generate a typed package from that live org, as a user would;
5. `rest`      typed REST: CRUD, upsert, collections, queries, composite, SOSL, rotation;
6. `bulk`      Bulk API 2.0: a 20,000-row ingest that reconciles, then typed and CSV extracts;
7. `soap`      SOAP convertLead, the created records read back typed over REST;
8. `cdc`       Change Data Capture events arriving at a listener while REST writes happen.

What must stay true: every section checks what it shows (`output.check`) and a failed check
exits non-zero, so `tests/test_demo.py` can trust the printed evidence.
"""
