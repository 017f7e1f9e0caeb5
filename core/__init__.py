"""App-agnostic building blocks: the clock, per-engine SQL and locks. Nothing here imports an app."""
