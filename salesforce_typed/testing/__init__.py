"""The fake org: a local Salesforce emulator for tests.

`server.FakeOrg` runs it (the pytest plugin's `fake_org` fixture starts one per test);
`app.FakeOrgApp` is its ASGI application and `routes` the order APIs register in. One
subpackage per API, all built on `org` (state, store, schema, validation, the shared record
writer and its change events, HTTP): `oauth`, `rest`, `soql`, `bulk1`, `bulk2`, `soap`,
`streaming`, `admin`.
"""
