"""Copy the icons the web UI uses from the lucide-static npm package (ISC licence) into
src/erpsync/web/static/icons/, with the licence file beside them.

    cd "$(mktemp -d)" && npm pack lucide-static && tar xzf lucide-static-*.tgz
    .venv/bin/python scripts/icons.py "$PWD/package"

The copies are committed: the UI ships them and needs no npm at run time. app.css names each icon as a CSS mask
(``.i-<name>``), so an icon takes the colour of its text.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ICONS = (
    "building-2",
    "user",
    "folder-kanban",
    "settings",
    "circle-check",
    "triangle-alert",
    "circle-x",
    "info",
    "inbox",
    "loader-circle",
    "refresh-cw",
    "link",
    "unlink",
    "plus",
    "pencil",
    "trash-2",
    "search",
    "download",
    "log-out",
    "languages",
    "x",
    "undo-2",
    "arrow-left-right",
    "list",
    "sliders-horizontal",
    "list-ordered",
    "scale",
    "arrow-up-down",
    "bell",
    "activity",
    "repeat",
    "key-round",
    "circle-stop",
    "history",
)
TARGET = Path(__file__).resolve().parents[1] / "src" / "erpsync" / "web" / "static" / "icons"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    package = Path(argv[0])
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in ICONS:
        svg = (package / "icons" / f"{name}.svg").read_text(encoding="utf-8")
        svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.DOTALL)  # the licence goes in LICENSE.txt beside them
        (TARGET / f"{name}.svg").write_text(svg, encoding="utf-8")
    shutil.copyfile(package / "LICENSE", TARGET / "LICENSE.txt")
    version = re.search(r'"version":\s*"([^"]+)"', (package / "package.json").read_text(encoding="utf-8"))
    print(f"{len(ICONS)} icons of lucide-static {version.group(1) if version else '?'} in {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
