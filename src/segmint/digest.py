"""Short content digests of JSON-able documents (settings, parameters) for versions and
cache keys."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def json_digest(document: Any, length: int = 16) -> str:
    """The first `length` hex digits of the SHA-256 of `document` as canonical JSON."""
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
