"""Text folding for search across Latin diacritics and Cyrillic, and alphabetical order."""

import functools
import re
import unicodedata

import icu

from schoolmgr.i18n import current_language

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


# --- names and other one-line text people type about themselves --------------------------------

# Controls that reorder the text around them: "\u202egnp.exe" shows as "exe.png".
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Characters that print nothing: dropped when normalising.
_ZERO_WIDTH = str.maketrans(dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u180e")))
# Letters that are drawn as blanks (Hangul fillers, the blank Braille pattern).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")


def normalise_line(value: str) -> str:
    """NFC, zero-width characters dropped, runs of spaces and tabs made one space, trimmed.
    Line breaks are left in place, for `line_problem` to refuse."""
    value = unicodedata.normalize("NFC", value).translate(_ZERO_WIDTH)
    return _HORIZONTAL_SPACE.sub(" ", value).strip(" ")


def renders_blank(value: str) -> bool:
    """True when nothing visible would be printed: only spaces, format or control characters,
    lone combining marks or blank-looking letters."""
    return not any(
        unicodedata.category(char)[0] not in "ZCM" and char not in _BLANK_LETTERS for char in value
    )


def line_problem(value: str) -> str | None:
    """Why `value` cannot be a name (or institution, position): "line_break", "bidi" or
    "blank"; None when it can. Empty is not a problem here (required fields say so)."""
    if any(char in LINE_BREAKS for char in value):
        return "line_break"
    if any(char in BIDI_CONTROLS for char in value):
        return "bidi"
    if value and renders_blank(value):
        return "blank"
    return None


# --------------------------------------------------------------------------------------------
# Collation: a real alphabetical order (ICU, the Unicode Collation Algorithm with CLDR's
# language rules), not code-point order.

# People's names are ordered by the alphabet of the page's language: the ICU locale whose rules
# order them, per language tag. Bosnian, Croatian, Montenegrin and Serbian Latin share one Latin
# alphabet (C, Č, Ć, D, Dž, Đ, ... Lj ... Nj ...); Albanian has its own (Ç after C, Dh after D,
# Ë after E, Gj, Ll, Nj, Rr, Sh, Th, Xh, Zh); Macedonian and Serbian Cyrillic put Cyrillic names
# first, each in its own alphabet (Ѓ after Д in Macedonian, after Г in Serbian).
NAME_COLLATIONS = {
    "en": "en",
    "sq": "sq",
    "bs": "sr_Latn",
    "hr": "sr_Latn",
    "cnr": "sr_Latn",
    "sr-Latn": "sr_Latn",
    "mk": "mk",
    "sr-Cyrl": "sr",
}
NAME_LOCALES = tuple(dict.fromkeys(NAME_COLLATIONS.values()))


def name_collation(language: str | None = None) -> str:
    """The ICU locale that orders names for `language` (default: the language being rendered)."""
    return NAME_COLLATIONS.get(language or current_language(), "en")


@functools.cache
def _collator(locale: str) -> icu.Collator:
    return icu.Collator.createInstance(icu.Locale(locale))


def collation_key(text: str | None, locale: str = "en") -> bytes:
    """Bytes that sort `text` in the alphabetical order of `locale` (compare them with <)."""
    return _collator(locale).getSortKey(unicodedata.normalize("NFC", text or ""))


def person_sort_key(full_name: str | None, locale: str | None = None) -> bytes:
    """Family name (the last word), then given names: "Đorđe Jovanović" sorts under J.
    `locale` is an ICU locale of NAME_LOCALES; by default the one of the page's language.

    The two keys are joined: an ICU key ends with its only zero byte, so the family name is
    compared in full before the given names are."""
    locale = locale or name_collation()
    words = (full_name or "").split()
    family, given = (words[-1], " ".join(words[:-1])) if words else ("", "")
    return collation_key(family, locale) + collation_key(given, locale)


def sorted_people(items, name=lambda item: item.full_name, locale: str | None = None) -> list:
    """`items` in name order (family name, then given names) of the page's language: the order
    of every list of people."""
    locale = locale or name_collation()
    return sorted(items, key=lambda item: person_sort_key(name(item), locale))
