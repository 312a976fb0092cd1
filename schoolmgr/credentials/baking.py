"""Open Badges 3.0 baking: the signed credential inside the badge image (PNG iTXt, SVG).

PNG: one iTXt chunk, keyword `openbadgecredential`, uncompressed, text = the Compact JWS.
SVG: an `<openbadges:credential verify="JWS">` element right after the `<svg>` tag.
"""

from __future__ import annotations

import re
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadgecredential"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
_MAX_TEXT = 1_000_000
_SVG_CREDENTIAL = re.compile(
    r"<openbadges:credential\b[^>]*?\bverify\s*=\s*([\"'])([A-Za-z0-9_.\-]+)\1", re.DOTALL
)


class BakingError(ValueError):
    """Not an image with a baked credential (or not a PNG/SVG at all)."""


def _chunks(png: bytes):
    """(type, data, start offset) of each chunk; stops at IEND."""
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG")
    offset = len(PNG_SIGNATURE)
    while offset + 12 <= len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(png):
            raise BakingError("truncated PNG")
        yield kind, png[offset + 8 : offset + 8 + length], offset
        if kind == b"IEND":
            return
        offset = end
    raise BakingError("PNG without IEND")


def _itxt(keyword: bytes, text: str) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translation, NUL
    data = keyword + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")
    return (
        struct.pack(">I", len(data))
        + b"iTXt"
        + data
        + struct.pack(">I", zlib.crc32(b"iTXt" + data) & 0xFFFFFFFF)
    )


def bake_png(png: bytes, compact_jws: str) -> bytes:
    """The image with the credential in one iTXt chunk (an existing one is replaced)."""
    out = bytearray(PNG_SIGNATURE)
    for kind, data, offset in _chunks(png):
        if kind == b"iTXt" and data.split(b"\x00", 1)[0] == KEYWORD:
            continue
        if kind == b"IEND":
            out += _itxt(KEYWORD, compact_jws)
        out += png[offset : offset + 12 + len(data)]
    return bytes(out)


def extract_png(png: bytes) -> str:
    for kind, data, _offset in _chunks(png):
        if kind != b"iTXt":
            continue
        keyword, _, rest = data.partition(b"\x00")
        if keyword != KEYWORD or len(rest) < 2:
            continue
        compressed, rest = rest[0], rest[2:]
        _language, _, rest = rest.partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        if compressed:
            text = zlib.decompressobj().decompress(text, _MAX_TEXT)
        return text.decode("utf-8", "replace").strip()
    raise BakingError("no baked credential in this PNG")


def bake_svg(svg: str, compact_jws: str) -> str:
    match = re.search(r"<svg\b[^>]*>", svg)
    if match is None:
        raise BakingError("not an SVG")
    tag = match.group(0)
    if "xmlns:openbadges" not in tag:
        tag = tag[:-1] + f' xmlns:openbadges="{OB_NAMESPACE}">'
    element = f'<openbadges:credential verify="{compact_jws}"></openbadges:credential>'
    return svg[: match.start()] + tag + element + svg[match.end() :]


def extract_svg(svg: str) -> str:
    match = _SVG_CREDENTIAL.search(svg)
    if match is None:
        raise BakingError("no baked credential in this SVG")
    return match.group(2)


def extract(content: bytes) -> str:
    """The credential text of an upload: a baked PNG or SVG, or the text itself (.jwt)."""
    if content.startswith(PNG_SIGNATURE):
        return extract_png(content)
    text = content.decode("utf-8", "replace").lstrip("\ufeff").strip()
    if "<svg" in text[:4096]:
        return extract_svg(text)
    return text
