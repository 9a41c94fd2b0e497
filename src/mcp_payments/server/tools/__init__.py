"""One module per tool category; each exposes register(box, app)."""
