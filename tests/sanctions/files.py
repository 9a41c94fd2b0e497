"""SDN list files for tests, written as OFAC writes them (no header, `-0- ` for empty, CRLF, a closing ^Z)."""

from __future__ import annotations

from pathlib import Path

from mcp_payments.adapters.sanctions_files import builtin

E = "-0- "


def sdn_line(ent: int, name: str, sdn_type: str = "individual", program: str = "TEST", remarks: str = E) -> str:
    quoted = name.replace('"', '""')
    return f'{ent},"{quoted}","{sdn_type}","{program}",{E},{E},{E},{E},{E},{E},{E},"{remarks}"'


def ofac(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n\x1a").encode()


def files(sdn: list[str], alt: list[str] | None = None, add: list[str] | None = None) -> dict[str, bytes]:
    out = {"sdn.csv": ofac(sdn)}
    if alt is not None:
        out["alt.csv"] = ofac(alt)
    if add is not None:
        out["add.csv"] = ofac(add)
    return out


def write(directory: Path, found: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in found.items():
        (directory / name).write_bytes(data)
    return directory


def second_list() -> dict[str, bytes]:
    """The shipped list with one more (made-up) entry: another version."""
    shipped = builtin()
    extra = sdn_line(9100, "PLUMTREE-QUASIMODO, Hortensia", remarks="DOB 01 Feb 1970; fictitious.").encode()
    return {**shipped, "sdn.csv": shipped["sdn.csv"].rstrip(b"\x1a") + extra + b"\r\n"}
