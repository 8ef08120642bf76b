"""`check-soql`: the SOQL strings a codebase hands the client, checked against a package.

Objects, fields (case-insensitively), parent paths, polymorphic paths and TYPEOF, child
subqueries, the filterable/sortable/groupable/aggregatable flags, bind placeholders against
`params`, and the model passed against the FROM object. The codes are in `CODES`.
"""

from __future__ import annotations

from .problems import CODES, Problem
from .run import DEFAULT_PACKAGE, Report, check_paths, check_source
from .schema import PackageSchema
from .validate import QueryCheck

__all__ = [
    "CODES",
    "DEFAULT_PACKAGE",
    "PackageSchema",
    "Problem",
    "QueryCheck",
    "Report",
    "check_paths",
    "check_source",
]
