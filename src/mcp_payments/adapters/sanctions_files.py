"""Reading sanctions list files: a directory an operator gives, or the synthetic list this package ships."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from mcp_payments.domain.errors import InvalidSanctionsList
from mcp_payments.domain.sanctions import FILES, MAX_FILE_BYTES


def read_dir(directory: Path) -> dict[str, bytes]:
    """The list files found in `directory` (sdn.csv required; alt.csv and add.csv when present)."""
    if not directory.is_dir():
        raise InvalidSanctionsList(
            f"{directory} is not a directory: give the directory holding sdn.csv, alt.csv, add.csv"
        )
    found: dict[str, bytes] = {}
    for name in FILES:
        path = directory / name
        if not path.is_file():
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidSanctionsList(
                f"{name} is larger than {MAX_FILE_BYTES // 2**20} MB: it is not an SDN list file"
            )
        found[name] = path.read_bytes()
    if "sdn.csv" not in found:
        raise InvalidSanctionsList(f"{directory} has no sdn.csv: download the SDN list's CSV files into it")
    return found


def builtin() -> dict[str, bytes]:
    """The synthetic list shipped in mcp_payments/data/sanctions (made-up names, for tests and as the default)."""
    folder = resources.files("mcp_payments") / "data" / "sanctions"
    return {name: (folder / name).read_bytes() for name in FILES}
