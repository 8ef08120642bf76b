"""The fake org's admin API (`/_admin/...`, no auth): faults and org settings at run time."""
