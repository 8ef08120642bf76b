"""The async-first send loop; `core/_sync` is generated from it."""
