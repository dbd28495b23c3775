"""Fail early, with one clear line, when the interpreter is too old for segmint."""

import sys

if sys.version_info < (3, 11):
    sys.exit(f"segmint needs Python >= 3.11; found {sys.version.split()[0]} ({sys.executable})")
