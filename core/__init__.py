"""App-agnostic building blocks the apps share (the clock, ...). Nothing here imports an app."""
