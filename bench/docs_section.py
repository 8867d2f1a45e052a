"""Write one benchmark's section of ``docs/benchmarks.md`` between its markers, leaving the rest."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def write_section(name: str, section: str, path: Path = DOCS) -> None:
    """Replace the section ``name`` (``section`` includes its markers), or append it."""
    start, end = markers(name)
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
