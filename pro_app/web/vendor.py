"""plotly.js served by the app itself from the installed ``plotly`` package, never a CDN.

The URL carries the plotly.js version, so the file can be cached for a year and is
fetched once per browser; it is gzipped once, in memory, for clients that accept it.
"""

import gzip
import hashlib
import re
from functools import lru_cache
from importlib.resources import files

from flask import Blueprint, Response, abort, request
from plotly.offline import get_plotlyjs_version

bp = Blueprint("vendor", __name__, url_prefix="/vendor")
ONE_YEAR = 31_536_000


def plotly_version() -> str:
    return get_plotlyjs_version()


@lru_cache(maxsize=1)
def _plotly_bytes() -> tuple[bytes, bytes, str]:
    raw = files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    return raw, gzip.compress(raw, compresslevel=9), hashlib.sha256(raw).hexdigest()[:32]


# A stylesheet bundled into plotly.js (maplibre's, for map traces) is injected as an inline
# <style> unless an element with its id already exists.
_BUNDLED_STYLE = re.compile(
    rb'if\(!document\.getElementById\("([0-9a-f]{64})"\)\)\{'
    rb'var \w+=document\.createElement\("style"\)'
)


@lru_cache(maxsize=1)
def plotly_bundled_style_ids() -> tuple[str, ...]:
    """Ids of the stylesheets plotly.js would inject, for placeholders in the page head."""
    return tuple(match.decode() for match in _BUNDLED_STYLE.findall(_plotly_bytes()[0]))


@bp.get("/plotly-<version>.min.js")
def plotly_js(version: str):
    if version != plotly_version():
        abort(404)
    raw, packed, digest = _plotly_bytes()
    etag = f'"{digest}"'
    headers = {
        "Cache-Control": f"public, max-age={ONE_YEAR}, immutable",
        "ETag": etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers=headers)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, mimetype="text/javascript", headers=headers)
    return Response(raw, mimetype="text/javascript", headers=headers)
