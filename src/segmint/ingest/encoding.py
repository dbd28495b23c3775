"""Detect the text encoding of an export: UTF-8 (with or without BOM) or GBK/GB18030."""

from __future__ import annotations

import codecs
from pathlib import Path

from segmint.errors import SourceReadError

SAMPLE_BYTES = 1 << 20

#: The codec names segmint passes to decoders for each declared encoding.
CODEC = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030", "gb18030": "gb18030"}


def _decodes(sample: bytes, codec: str, complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        decoder.decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path, declared: str = "auto") -> str:
    """The codec to read `path` with.

    A declared encoding is trusted (GBK is read as GB18030, its superset). With `auto`, a
    UTF-8 BOM wins, then strict UTF-8 on the first megabyte, then GB18030. Binary files
    (NUL bytes) and UTF-16 are refused with a message naming the file.
    """
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        complete = len(sample) < SAMPLE_BYTES
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceReadError(f"{path}: UTF-16 text is not supported; re-export as UTF-8 or GBK")
    if b"\x00" in sample:
        raise SourceReadError(f"{path}: not a text file (it contains NUL bytes)")
    if declared != "auto":
        codec = CODEC[declared]
        if codec == "utf-8" and sample.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"
        if not _decodes(sample, codec, complete):
            raise SourceReadError(
                f"{path}: not valid {declared} text; check the export's encoding "
                "(or set encoding: auto)"
            )
        return codec
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if _decodes(sample, "utf-8", complete):
        return "utf-8"
    if _decodes(sample, "gb18030", complete):
        return "gb18030"
    raise SourceReadError(
        f"{path}: cannot tell its encoding (neither UTF-8 nor GBK/GB18030); set 'encoding'"
    )
