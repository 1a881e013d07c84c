"""Replace a `<!-- name -->` ... `<!-- /name -->` block of a Markdown file with a benchmark's output,
so the numbers in the docs are the ones the benchmark printed, never typed by hand."""

from __future__ import annotations

from pathlib import Path


def replace_block(path: Path, name: str, body: str) -> None:
    text = path.read_text()
    start_tag, end_tag = f"<!-- {name} -->", f"<!-- /{name} -->"
    if start_tag not in text or end_tag not in text:
        raise SystemExit(f"{path} has no {start_tag} ... {end_tag} block")
    start, end = text.index(start_tag) + len(start_tag), text.index(end_tag)
    path.write_text(text[:start] + "\n" + body.strip() + "\n" + text[end:])
    print(f"wrote the {name} block of {path}")
