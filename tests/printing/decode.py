"""Read an ESC/POS byte stream back: the text (decoded in the code page the stream selected)
and the commands that matter on paper (code page, QR code, cut, drawer kick, sizes).

Written from the ESC/POS command reference, independently of python-escpos, so a test
checks what a printer would do with the bytes rather than what the library meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ESC, GS, DLE = 0x1B, 0x1D, 0x10
# ESC t n → Python codec, for the tables Epson numbers this way.
CODE_PAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 19: "cp858", 40: "iso8859_15"}


@dataclass
class Decoded:
    text: str = ""
    code_pages: list[int] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    cuts: int = 0
    drawer_kicks: list[int] = field(default_factory=list)
    inits: int = 0
    status_requests: int = 0
    large_text: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [ln.rstrip() for ln in self.text.split("\n")]


def decode(data: bytes) -> Decoded:
    out = Decoded()
    codec = "cp437"  # the printer's power-on table
    size = 0
    i = 0
    buf = bytearray()
    large = bytearray()

    def flush() -> None:
        nonlocal buf
        if buf:
            out.text += buf.decode(codec)
            buf = bytearray()

    while i < len(data):
        b = data[i]
        if b == ESC:
            cmd = data[i + 1]
            if cmd == ord("@"):
                flush()
                out.inits += 1
                codec, size = "cp437", 0
                i += 2
            elif cmd == ord("t"):
                flush()
                n = data[i + 2]
                out.code_pages.append(n)
                codec = CODE_PAGES[n]
                i += 3
            elif cmd == ord("p"):
                out.drawer_kicks.append(data[i + 2])
                i += 5
            elif cmd == ord("d"):
                flush()
                out.text += "\n" * data[i + 2]
                i += 3
            elif cmd == ord("!"):
                flush()
                size = data[i + 2]
                i += 3
            elif cmd in (ord("E"), ord("a"), ord("-"), ord("M"), ord("{"), ord("G")):
                i += 3
            else:
                raise ValueError(f"unexpected ESC {cmd:#x} at {i}")
        elif b == GS:
            cmd = data[i + 1]
            if cmd == ord("V"):
                flush()
                out.cuts += 1
                m = data[i + 2]
                i += 4 if m in (65, 66) else 3
            elif cmd == ord("(") and data[i + 2] == ord("k"):
                length = data[i + 3] | data[i + 4] << 8
                body = data[i + 5 : i + 5 + length]
                if body[:2] == b"1P":  # store the symbol data: cn=49, fn=80, m=48
                    out.qr_codes.append(body[3:].decode("utf-8"))
                i += 5 + length
            elif cmd == ord("!"):
                flush()
                size = 0x20 if data[i + 2] & 0xF0 else 0
                i += 3
            elif cmd in (ord("B"), ord("b")):
                i += 3
            else:
                raise ValueError(f"unexpected GS {cmd:#x} at {i}")
        elif b == DLE and data[i + 1] == 0x04:
            out.status_requests += 1
            i += 3
        else:
            buf.append(b)
            if size & 0x20:  # double width: the large text of a ticket
                large.append(b)
            elif large:
                out.large_text.append(large.decode(codec).strip())
                large = bytearray()
            i += 1
    flush()
    if large:
        out.large_text.append(large.decode(codec).strip())
    return out
