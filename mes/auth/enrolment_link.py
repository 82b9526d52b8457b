"""The enrolment link of a station and its QR code, for a tablet's camera.

The token travels in the fragment (`#token=...`): a browser never sends the fragment to the
server, so the token stays out of access logs; the page stores it and clears the address bar.
"""

import io
from urllib.parse import quote

import segno


def enrolment_link(base_url: str, station: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/station/{quote(station, safe='')}#token={quote(token, safe='')}"


def qr_text(link: str) -> str:
    """The QR code of `link` drawn with block characters, for a terminal."""
    out = io.StringIO()
    segno.make(link, error="m").terminal(out=out, compact=True)
    return out.getvalue()
