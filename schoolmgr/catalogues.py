"""Translation catalogues: extract the source strings, update every language, compile, check.

`make translations` runs `python -m schoolmgr.catalogues update` (extract, then bring each
language's `.po` in step: new strings added untranslated, removed ones dropped, no fuzzy
guesses) and `compile`. `transliterate` fills the untranslated Serbian Latin entries from the
Serbian Cyrillic ones. `make run` and `make test` compile, so `.mo` files are never committed
stale. The test suite calls `problems()` to fail on a catalogue that is out of step.
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from schoolmgr.i18n import DEFAULT_LANGUAGE, LANGUAGES

PROJECT = Path(__file__).resolve().parent.parent
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LOCALES = [lang.babel_locale for lang in LANGUAGES if lang.tag != DEFAULT_LANGUAGE]

# %(name)s, %(n)d, %s and {name}: what the code fills in, which a translation must keep.
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]|\{(\w*)\}")


def po_path(locale: str, root: Path = TRANSLATIONS) -> Path:
    return root / locale / "LC_MESSAGES" / "messages.po"


def extract(output: Path = TEMPLATE) -> Catalog:
    """Extract every user-facing string of the code and templates into `output`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(PROJECT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_pgettext:1c,2",
            "--add-location",
            "file",
            "--sort-by-file",
            "--no-wrap",
            "--project",
            "schoolmgr",
            "-o",
            str(output),
            ".",
        ],
        cwd=PROJECT,
        check=True,
        capture_output=True,
    )
    with output.open("rb") as f:
        return read_po(f)


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def update() -> None:
    """Bring every language's catalogue in step with the source strings."""
    template = extract()
    for locale in LOCALES:
        path = po_path(locale)
        if path.exists():
            catalog = _read(path, locale)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=locale, project="schoolmgr", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.fuzzy = False
        with path.open("wb") as f:
            write_po(f, catalog, ignore_obsolete=True, width=0, include_previous=False)


def compile_all() -> list[Path]:
    """Write each `.mo` whose `.po` is newer; return the files written."""
    written = []
    for locale in LOCALES:
        source = po_path(locale)
        if not source.exists():
            continue
        target = source.with_suffix(".mo")
        if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            continue
        catalog = _read(source, locale)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as f:
            write_mo(f, catalog, use_fuzzy=False)
        Path(f.name).replace(target)
        written.append(target)
    return written


# Serbian Cyrillic to Serbian Latin, letter by letter (Љ/Њ/Џ become two letters).
_SERBIAN_LATIN = dict(
    zip(
        "абвгдђежзијклљмнњопрстћуфхцчџшАБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШ",
        re.split(
            " ",
            "a b v g d đ e ž z i j k l lj m n nj o p r s t ć u f h c č dž š "
            "A B V G D Đ E Ž Z I J K L Lj M N Nj O P R S T Ć U F H C Č Dž Š",
        ),
        strict=True,
    )
)


def to_serbian_latin(text: str) -> str:
    """Serbian Cyrillic written in Serbian Latin; placeholders and Latin text are kept as is."""
    latin = "".join(_SERBIAN_LATIN.get(char, char) for char in text)
    # A capital digraph before another capital is all capitals: "ЉУБА" -> "LJUBA".
    return re.sub(r"(Lj|Nj|Dž)(?=[A-ZČĆĐŠŽ])", lambda m: m.group(0).upper(), latin)


def transliterate(root: Path = TRANSLATIONS) -> int:
    """Fill each untranslated Serbian Latin entry from its Serbian Cyrillic translation."""
    cyrillic = _read(po_path("sr_Cyrl", root), "sr_Cyrl")
    path = po_path("sr_Latn", root)
    latin = _read(path, "sr_Latn")
    filled = 0
    for message in latin:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        source = cyrillic.get(message.id, message.context)
        if all(strings) or source is None or not source.string:
            continue
        if isinstance(source.string, tuple):
            message.string = tuple(to_serbian_latin(s) for s in source.string)
        else:
            message.string = to_serbian_latin(source.string)
        filled += 1
    with path.open("wb") as f:
        write_po(f, latin, ignore_obsolete=True, width=0, include_previous=False)
    return filled


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in _PLACEHOLDER.finditer(text))


def problems(
    template: Catalog, root: Path = TRANSLATIONS, require_translated: bool = False
) -> list[str]:
    """What is wrong with the catalogues under `root`, one line each (empty when all is well)."""
    found = []
    wanted = {m.id for m in template if m.id}
    for locale in LOCALES:
        path = po_path(locale, root)
        if not path.exists():
            found.append(f"{locale}: no catalogue (run `make translations`)")
            continue
        catalog = _read(path, locale)
        present = {m.id for m in catalog if m.id}
        for msgid in sorted(wanted - present, key=str):
            found.append(f"{locale}: missing {msgid!r}")
        for msgid in sorted(present - wanted, key=str):
            found.append(f"{locale}: obsolete {msgid!r}")
        if catalog.obsolete:
            found.append(f"{locale}: {len(catalog.obsolete)} obsolete entries kept as comments")
        for message in catalog:
            if not message.id:
                continue
            if message.fuzzy:
                found.append(f"{locale}: fuzzy {message.id!r}")
            source = message.id[-1] if isinstance(message.id, tuple) else message.id
            translations = (
                message.string if isinstance(message.string, tuple) else (message.string,)
            )
            if require_translated and not all(translations):
                found.append(f"{locale}: untranslated {message.id!r}")
            for translation in translations:
                if translation and _placeholders(translation) != _placeholders(source):
                    found.append(
                        f"{locale}: placeholders of {translation!r} differ from {source!r}"
                    )
    return found


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "update":
        update()
        print(f"updated {len(LOCALES)} catalogues from {TEMPLATE.relative_to(PROJECT)}")
    elif command == "transliterate":
        print(f"filled {transliterate()} Serbian Latin entries from Serbian Cyrillic")
    elif command == "compile":
        written = compile_all()
        print(f"compiled {len(written)} catalogue(s)")
    else:
        sys.exit("usage: python -m schoolmgr.catalogues update|transliterate|compile")
