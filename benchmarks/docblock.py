"""Replace a `<!-- name -->` ... `<!-- /name -->` block of a Markdown file with a benchmark's output,
so the numbers in the docs are the ones the benchmark printed, never typed by hand."""

from __future__ import annotations

from pathlib import Path


def replace_block(path: Path, name: str, body: str, *, merge: bool = False) -> None:
    """`merge`: `body` is a table whose rows are grouped by their first cell (a preset; an empty
    first cell continues the group above): the block's groups that `body` does not have stay as
    they were measured, so a run of a few presets does not wipe the others' rows."""
    text = path.read_text()
    start_tag, end_tag = f"<!-- {name} -->", f"<!-- /{name} -->"
    if start_tag not in text or end_tag not in text:
        raise SystemExit(f"{path} has no {start_tag} ... {end_tag} block")
    start, end = text.index(start_tag) + len(start_tag), text.index(end_tag)
    if merge:
        body = merged_table(text[start:end], body)
    path.write_text(text[:start] + "\n" + body.strip() + "\n" + text[end:])
    print(f"wrote the {name} block of {path}")


def _groups(lines: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    key = ""
    for line in lines:
        first = line.strip().strip("|").split("|")[0].strip()
        key = first or key
        groups.setdefault(key, []).append(line)
    return groups


def merged_table(old: str, new: str) -> str:
    """The table `new` with the row groups of `old` that `new` lacks, in `old`'s order (a group
    `new` has takes its place; groups only `new` has come last). A changed header: `new` alone."""
    old_lines = [line for line in old.strip().splitlines() if line.startswith("|")]
    new_lines = [line for line in new.strip().splitlines() if line.startswith("|")]
    if old_lines[:2] != new_lines[:2]:
        return new
    old_groups, new_groups = _groups(old_lines[2:]), _groups(new_lines[2:])
    rows = [line for key, lines in old_groups.items() for line in new_groups.get(key, lines)]
    rows += [line for key, lines in new_groups.items() if key not in old_groups for line in lines]
    return "\n".join(new_lines[:2] + rows)
