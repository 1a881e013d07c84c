"""The bundled preset names (torch-free, for the command line's help text)."""

from __future__ import annotations

from importlib import resources

DEFAULT_PRESET = "mnist-cdcgan"


def preset_names() -> list[str]:
    folder = resources.files("condgan") / "configs"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))
