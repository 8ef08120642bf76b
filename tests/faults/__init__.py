"""Fault injection for tests: a loopback TCP proxy that cuts, stalls or blackholes a server."""
