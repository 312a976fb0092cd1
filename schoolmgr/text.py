"""Text folding for search and sorting across Latin diacritics and Cyrillic."""

import unicodedata

# Serbian/Macedonian Cyrillic to the Latin spelling people type on an English keyboard.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "dj", "е": "e", "ж": "z", "з": "z",
    "и": "i", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "c", "у": "u", "ф": "f", "х": "h", "ц": "c",
    "ч": "c", "џ": "dz", "ш": "s", "ѓ": "gj", "ќ": "kj", "ѕ": "dz", "й": "j", "ы": "y", "э": "e",
    "ю": "ju", "я": "ja", "щ": "sc", "ь": "", "ъ": "",
}  # fmt: skip
# Letters that Unicode decomposition does not reduce to a base letter.
_LATIN = {"đ": "dj", "ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"}


def fold(text: str | None) -> str:
    """Lower-case ASCII form: "Đorđe Čolić" and "Ђорђе Чолић" both become "djordje colic"."""
    if not text:
        return ""
    out = []
    for char in text.lower():
        if char in _CYRILLIC:
            out.append(_CYRILLIC[char])
        elif char in _LATIN:
            out.append(_LATIN[char])
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
    return " ".join("".join(out).split())


def search_terms(query: str | None) -> list[str]:
    """Folded words of a search box entry; each must match for a row to be found."""
    return fold(query).split()[:8]
