"""Build-time generator: Salesforce specs, describes and catalogs in, typed packages out.

Never imported by the runtime (`salesforce_typed/`); the runtime is what generated code
builds on.
"""

__version__ = "0.1.0"
