"""Markdown from organisers, rendered safely for public pages.

CommonMark with raw HTML off (``html=False``): any ``<script>`` or other tag in a description is
shown as text. markdown-it's own link validation refuses ``javascript:``, ``vbscript:``, ``file:``
and most ``data:`` URLs. Links get ``rel="nofollow noopener"`` because descriptions are written by
many organisers and we do not vouch for where they point.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from markupsafe import Markup

_LINK_REL = "nofollow noopener"
_HEADING_SHIFT = 2


@cache
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})

    def link_open(renderer: Any, tokens: Sequence[Any], idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", _LINK_REL)
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)

    def demote_headings(state: Any) -> None:
        # A description sits under the page's own h1 and h2: its "# Heading" becomes an h3.
        for token in state.tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(int(token.tag[1]) + _HEADING_SHIFT, 6)}"

    md.core.ruler.push("demote_headings", demote_headings)
    # Images from anywhere would let a description track readers; show their alt text instead.
    md.disable("image")
    return md


def render_markdown(source: str) -> Markup:
    """HTML for ``source`` (CommonMark, raw HTML escaped, links nofollow), safe to insert."""
    if not source.strip():
        return Markup("")
    return Markup(_renderer().render(source))  # noqa: S704 - html=False: markdown-it escapes input
