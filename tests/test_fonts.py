"""The fonts shipped for PDFs are trimmed (scripts/subset-fonts.py): whatever the app writes into
a PDF must still be in every one of them."""

import functools
import importlib.util
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
FONTS_DIR = ROOT / "static" / "fonts"

# The letters of the region's names (domain notes) and of its languages, beyond the catalogues.
REGION_LETTERS = "ĐđČčĆćŠšŽžËëÇçЂЈЉЊЋЏЃЌЅђјљњћџѓќѕŚśŹźÂâ–—‘’“”„«»…·•€№"


@functools.cache
def subset_script():
    spec = importlib.util.spec_from_file_location("subset_fonts", ROOT / "scripts/subset-fonts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def written_characters() -> set[str]:
    """Every character of the templates and the translation catalogues."""
    files = [
        *(ROOT / "templates").rglob("*.html"),
        *(ROOT / "schoolmgr/translations").rglob("*.po"),
    ]
    text = "".join(f.read_text(encoding="utf-8") for f in files) + REGION_LETTERS
    return {c for c in text if c.isprintable() and c != " "}


def kept(code_point: int, ranges) -> bool:
    return any(first <= code_point <= last for first, last in ranges)


def test_every_character_the_app_writes_is_in_the_kept_ranges():
    ranges = subset_script().RANGES
    outside = sorted(c for c in written_characters() if not kept(ord(c), ranges))
    assert not outside, f"{outside}: widen RANGES in scripts/subset-fonts.py and run it"


@pytest.mark.parametrize("name", subset_script().FONTS)
def test_a_shipped_font_holds_every_character_of_the_full_font_in_the_ranges(name):
    script = subset_script()
    full_font = script.DEBIAN_DEJAVU / f"{name}.ttf"
    if not full_font.exists():
        pytest.skip("fonts-dejavu-core is not installed (make system-deps)")
    full = TTFont(full_font).getBestCmap()
    shipped = TTFont(FONTS_DIR / f"{name}.ttf").getBestCmap()
    assert set(shipped) == {c for c in full if kept(c, script.RANGES)}
    assert {ord(c) for c in "ĐđČčĆćŠšŽžËëÇçЂЈЉЊЋЏЃЌЅ"} <= set(shipped)
