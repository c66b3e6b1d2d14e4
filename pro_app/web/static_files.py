"""Static files under versioned URLs, cached for a year, and compressed responses.

``url_for('static', filename=...)`` adds ``?v=`` and the first 12 hex digits of the file's
SHA-256, so templates need nothing special. A request that carries the file's current
version is answered with ``Cache-Control: public, max-age=31536000, immutable``: a browser
fetches each stylesheet and script once, and a change to a file changes its URL. A
request without the version, or with an old one, gets ``no-cache`` (revalidated on each
use). Stylesheets and scripts (Plotly's among them) are compressed (Brotli or gzip, as
the browser accepts) by Flask-Compress. Pages are not: an HTML page carries secrets (the
form's CSRF token, a survey link's token) beside text a visitor can influence, which is
what a compression side channel (BREACH) needs; pages are small, the scripts are not.
"""

import hashlib
import os
import stat
from functools import lru_cache
from pathlib import Path

from flask import Flask, request
from flask_compress import Compress

ONE_YEAR = 31_536_000
COMPRESSED_TYPES = ["text/css", "text/javascript", "application/javascript"]
IMMUTABLE = f"public, max-age={ONE_YEAR}, immutable"
compress = Compress()


@lru_cache(maxsize=256)
def _digest(path: str, modified_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


@lru_cache(maxsize=256)
def _inside(folder: str, filename: str) -> str | None:
    """The file's resolved path if it lies inside ``folder``, else None."""
    root = Path(folder).resolve()
    path = (root / filename).resolve()
    return str(path) if root in path.parents else None


def static_version(app: Flask, filename: str) -> str | None:
    """The version of a file in the static folder (changes with its content), or None.

    Each page asks for it: one ``stat`` of the file, the path resolved once per name.
    """
    path = _inside(app.static_folder or "", filename)
    if path is None:
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return _digest(path, status.st_mtime_ns)


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"])
    compress.init_app(app)

    @app.url_defaults
    def _versioned(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values and "filename" in values:
            version = static_version(app, values["filename"])
            if version is not None:
                values["v"] = version

    @app.after_request
    def _cache_lifetime(response):
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename", "")
        current = request.args.get("v") == static_version(app, filename)
        response.headers["Cache-Control"] = IMMUTABLE if current else "no-cache"
        return response
