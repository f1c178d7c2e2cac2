"""A griffe extension: the reStructuredText habits of our docstrings, rendered as Markdown.

mkdocstrings reads docstrings as Google style with Markdown text. Ours also use ``Example:`` (a
section Napoleon knows, griffe only as ``Examples:``), Sphinx roles (``:class:`Mint```), ``::``
literal blocks and simple tables. This rewrites those before griffe parses a docstring; the
source files are not touched.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|exc|data|obj):`~?([^`]+)`")
_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)
_TABLE_RULE = re.compile(r"^\s*=+(?: +=+)+\s*$")


def rst_to_markdown(text: str) -> str:
    """Rewrite one docstring; Markdown that is already fine passes through unchanged."""
    text = _EXAMPLE.sub(r"\1Examples:", text)
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    lines = text.splitlines()
    out: list[str] = []
    rules = 0
    for i, line in enumerate(lines):
        if _TABLE_RULE.match(line):  # a simple table: top rule, [rule under the head], bottom rule
            if rules == 0:
                out.append("```text")
            rules += 1
            out.append(line)
            following = lines[i + 1] if i + 1 < len(lines) else ""
            if rules == 3 or (rules == 2 and not following.strip()):
                out.append("```")
                rules = 0
            continue
        if line.rstrip().endswith("::") and not line.strip().startswith(">>>"):
            # "text::" -> "text:"; the indented block that follows is code already
            line = line.rstrip()[:-1]
            if line.strip() == ":":
                line = ""
        out.append(line)
    if rules:  # a table that did not end
        out.append("```")
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    """Apply :func:`rst_to_markdown` to every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
