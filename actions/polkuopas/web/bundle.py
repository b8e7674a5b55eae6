"""The chat widget as two files: `polkuopas-widget.js` and `polkuopas-widget.css`.

The sources in `web-widget/src/` are plain browser JavaScript and CSS with no
build tool; this joins them (strings, path picture, widget) into one script
inside one function scope, and the two style sheets into one. The web app
serves the result under /widget/ and rebuilds it when a source changes.
`python -m polkuopas.web.bundle DIR` writes the files for hosting elsewhere.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from polkuopas import __version__

LANGUAGES = ("fi", "sv", "en")  # strings.<lang>.json
JS_SOURCES = ("path-picture.js", "widget.js")
CSS_SOURCES = ("path-picture.css", "widget.css")
JS_NAME = "polkuopas-widget.js"
CSS_NAME = "polkuopas-widget.css"
PATH_CSS_NAME = "path-picture.css"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'

    @property
    def version(self) -> str:
        return self.etag.strip('"')[:10]

    @cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body, compresslevel=9, mtime=0)


def load_strings(src: Path) -> dict[str, dict[str, str]]:
    return {
        lang: json.loads((src / f"strings.{lang}.json").read_text(encoding="utf-8"))
        for lang in LANGUAGES
    }


def build(src: Path) -> dict[str, Asset]:
    """The served files, by name."""
    strings = json.dumps(load_strings(src), ensure_ascii=False, indent=1)
    parts = [
        f"/*! Polkuopas chat widget {__version__} | EUPL-1.2 */",
        "(function () {",
        '"use strict";',
        f"var VERSION = {json.dumps(__version__)};",
        f"var STRINGS = {strings};",
        *(
            (src / name).read_text(encoding="utf-8").replace("\r\n", "\n")
            for name in JS_SOURCES
        ),
        "})();",
        "",
    ]
    css = [(src / name).read_text(encoding="utf-8") for name in CSS_SOURCES]
    return {
        JS_NAME: Asset(
            "\n".join(parts).encode("utf-8"), "text/javascript; charset=utf-8"
        ),
        CSS_NAME: Asset("\n".join(css).encode("utf-8"), "text/css; charset=utf-8"),
        PATH_CSS_NAME: Asset(css[0].encode("utf-8"), "text/css; charset=utf-8"),
    }


class WidgetAssets:
    """The built widget, rebuilt when a source file changes (for development)."""

    def __init__(self, widget_dir: Path):
        self.src = Path(widget_dir) / "src"
        self._lock = threading.Lock()
        self._stamp: tuple[float, ...] = ()
        self._assets: dict[str, Asset] = {}
        self.strings: dict[str, dict[str, str]] = {}

    def _sources(self) -> list[Path]:
        names = [*JS_SOURCES, *CSS_SOURCES, *(f"strings.{x}.json" for x in LANGUAGES)]
        return [self.src / name for name in names]

    def get(self, name: str) -> Asset | None:
        stamp = tuple(p.stat().st_mtime for p in self._sources())
        with self._lock:
            if stamp != self._stamp:
                self._assets = build(self.src)
                self.strings = load_strings(self.src)
                self._stamp = stamp
            return self._assets.get(name)

    def version(self, name: str) -> str:
        asset = self.get(name)
        return asset.version if asset else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m polkuopas.web.bundle",
        description="Write the chat widget's files (JS and CSS) to a folder.",
    )
    parser.add_argument("out", type=Path, help="folder to write into")
    parser.add_argument(
        "--src",
        type=Path,
        default=Path(__file__).resolve().parents[3] / "web-widget" / "src",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, asset in build(args.src).items():
        (args.out / name).write_bytes(asset.body)
        print(f"{args.out / name}  {len(asset.body)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
