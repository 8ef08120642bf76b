"""The async-first streaming orchestration: the CometD session and the listener."""
