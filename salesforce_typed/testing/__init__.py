"""The fake org: a local Salesforce emulator for tests."""
