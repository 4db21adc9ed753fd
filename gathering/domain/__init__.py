"""The rules. Plain values in, dataclasses out; never imports Starlette or Jinja."""
