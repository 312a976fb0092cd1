"""Materials as one ZIP download (files under unique names, links in links.txt)."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable
from typing import IO

from schoolmgr.materials.uploads import storage_key
from schoolmgr.models import Material, MaterialKind
from schoolmgr.storage import get_storage


def _unique_names(materials: Iterable[Material]) -> list[tuple[Material, str]]:
    seen: set[str] = set()
    named = []
    for material in materials:
        stem, suffix = os.path.splitext(material.original_name)
        name, n = material.original_name, 1
        while name.lower() in seen:
            n += 1
            name = f"{stem} ({n}){suffix}"
        seen.add(name.lower())
        named.append((material, name))
    return named


def write_zip(materials: list[Material], out: IO[bytes]) -> None:
    """Write the given materials' files (and a list of the links) into a ZIP archive."""
    files = [m for m in materials if m.kind == MaterialKind.FILE]
    links = [m for m in materials if m.kind == MaterialKind.LINK]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        storage = get_storage()
        for material, name in _unique_names(files):
            with archive.open(name, "w", force_zip64=True) as member:
                storage.copy_to(storage_key(material), member)
        if links:
            lines = [f"{m.title}\n{m.url}\n" for m in links]
            archive.writestr("links.txt", "\n".join(lines))


def build_zip(materials: list[Material]) -> IO[bytes]:
    """The materials as a ZIP in a temporary file (in memory up to 16 MB), rewound."""
    spooled = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 (the response closes it)
    write_zip(materials, spooled)
    spooled.seek(0)
    return spooled
