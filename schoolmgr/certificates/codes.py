"""Verification codes: 100 bits of randomness, easy to read aloud and type.

Twenty characters from an alphabet without look-alikes (no 0/O, 1/I/L), grouped by four:
"K7QH-M3XD-9RTA-C4WE-PZ2N". Lookups ignore case, spaces and hyphens.
"""

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols: log2(31**20) ~ 99 bits
LENGTH = 20
GROUP = 4
# What people type by mistake for the characters we left out.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "L": "I"})
_GROUPED = re.compile(
    rf"^[{ALPHABET}]{{{GROUP}}}(-[{ALPHABET}]{{{GROUP}}}){{{LENGTH // GROUP - 1}}}$"
)


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return group(raw)


def group(raw: str) -> str:
    return "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))


# Serials are digits only ("2026-0006-00100", reissues add "-2"); codes have no 0 or 1 and are
# 20 characters long, so one typed text cannot be both.
_SERIAL_DIGITS = re.compile(r"^[0-9]{13,18}$")


def serial_digits(text: str) -> str | None:
    """The digits of a typed serial number, without spaces or dashes, or None."""
    raw = re.sub(r"[\s\-_.]", "", text or "")
    return raw if _SERIAL_DIGITS.match(raw) else None


def normalise(text: str) -> str | None:
    """The stored (grouped, upper-case) form of what someone typed, or None if it cannot be one."""
    raw = re.sub(r"[\s\-_.]", "", (text or "").upper())
    if len(raw) != LENGTH or any(c not in ALPHABET for c in raw):
        return None
    code = group(raw)
    return code if _GROUPED.match(code) else None
