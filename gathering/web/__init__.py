"""HTTP: one module per audience. Handlers parse, make one domain call, and render."""
