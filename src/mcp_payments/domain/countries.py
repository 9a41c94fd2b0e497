"""Countries: ISO 3166-1 alpha-2 codes (what a screened party's country is given as), and the names sanctions
lists spell them by (OFAC writes "Russia", "Korea, North", "Burma")."""

from __future__ import annotations

import functools
from typing import Any

from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.name_matching import normalise

# OFAC's spellings that are none of ISO's names for the country.
_LIST_SPELLINGS: dict[str, tuple[str, ...]] = {
    "BO": ("Bolivia",),
    "CD": ("Congo, Democratic Republic of the", "Democratic Republic of the Congo"),
    "CG": ("Congo, Republic of the",),
    "CZ": ("Czech Republic",),
    "IR": ("Iran",),
    "KP": ("Korea, North", "North Korea"),
    "KR": ("Korea, South", "South Korea"),
    "LA": ("Laos",),
    "MD": ("Moldova",),
    "MM": ("Burma",),
    "PS": ("West Bank", "Gaza", "Palestinian"),
    "RU": ("Russia",),
    "SY": ("Syria",),
    "TR": ("Turkey",),
    "TW": ("Taiwan",),
    "TZ": ("Tanzania",),
    "VE": ("Venezuela",),
    "VN": ("Vietnam",),
}


def _countries() -> Any:
    import pycountry  # imported when first used: it takes a noticeable share of a server's start

    return pycountry.countries


def check_code(code: str) -> str:
    """The code in capitals, or InvalidInput naming it: an ISO 3166-1 alpha-2 code that is assigned."""
    upper = code.upper()
    if len(upper) != 2 or not upper.isascii() or not upper.isalpha() or _countries().get(alpha_2=upper) is None:
        raise InvalidInput(
            f"country {code[:20]!r} is not an ISO 3166-1 alpha-2 code: give two letters such as US, DE or IR",
            field="country",
        )
    return upper


@functools.cache
def names_of(code: str) -> tuple[str, ...]:
    """Every name of the country, normalised (normalise()), as a list may write it."""
    country = _countries().get(alpha_2=code)
    if country is None:
        return ()
    names = [getattr(country, attribute, None) for attribute in ("name", "official_name", "common_name")]
    names += _LIST_SPELLINGS.get(code, ())
    return tuple(dict.fromkeys(normalise(n) for n in names if n))
