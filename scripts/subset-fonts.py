"""Write the PDF fonts of static/fonts/ from Debian's DejaVu (fonts-dejavu-core), trimmed to the
scripts and signs the school writes.

    .venv/bin/python scripts/subset-fonts.py [--source /usr/share/fonts/truetype/dejavu]

DejaVu covers some thirty scripts and thousands of symbols. WeasyPrint subsets each font of each
PDF again to the glyphs the document uses, and that work grows with the font: with the whole
fonts, it was a tenth of a certificate's instructions. Trimmed to Latin, Greek, Cyrillic and the
punctuation, numbers and a few signs below, every PDF renders the same glyphs with the same
metrics, kerning and ligatures, for about 7% fewer instructions (bench/certificate_render.py
--instructions). A character outside the ranges is drawn, as before the trim for one outside
DejaVu, from a font of the host.
"""

import argparse
from pathlib import Path

from fontTools import subset

ROOT = Path(__file__).resolve().parents[1]
FONTS = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic")
DEBIAN_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")

# Code point ranges kept (inclusive). tests/test_fonts.py checks that every character of the
# templates and the translation catalogues is among them.
RANGES = (
    (0x0000, 0x036F),  # Latin, Latin-1, Extended-A and B, IPA, spacing and combining marks
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x052F),  # Cyrillic and its supplement (Serbian, Macedonian, and the rest)
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2000, 0x206F),  # general punctuation: dashes, quotes, ellipsis, bullet, spaces
    (0x2070, 0x209F),  # superscripts and subscripts
    (0x20A0, 0x20CF),  # currency signs (€)
    (0x2100, 0x214F),  # letterlike symbols (№, ™)
    (0x2150, 0x218F),  # number forms (fractions)
    (0x2190, 0x2193),  # arrows ← ↑ → ↓
    (0x2212, 0x2212),  # minus sign
    (0x2260, 0x2260),  # ≠
    (0x2264, 0x2265),  # ≤ ≥
    (0x25CF, 0x25CF),  # ●
    (0x2605, 0x2605),  # ★
    (0x2713, 0x2714),  # ✓ ✔
    (0x2717, 0x2717),  # ✗
    (0xFB00, 0xFB06),  # Latin ligatures (ﬁ, ﬂ)
    (0xFFFD, 0xFFFD),  # replacement character
)


def subset_font(source: Path, target: Path) -> None:
    options = subset.Options()
    options.layout_features = ["*"]  # kerning, ligatures, marks: the text is set as before
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    options.glyph_names = True
    options.notdef_glyph = True
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.legacy_cmap = True
    options.symbol_cmap = True
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for first, last in RANGES for c in range(first, last + 1)])
    subsetter.subset(font)
    subset.save_font(font, str(target), options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=DEBIAN_DEJAVU)
    args = parser.parse_args()
    for name in FONTS:
        target = ROOT / "static" / "fonts" / f"{name}.ttf"
        subset_font(args.source / f"{name}.ttf", target)
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
