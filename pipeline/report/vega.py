"""The Vega, Vega-Lite and vega-embed JavaScript the page inlines, from vl-convert-python.

vl-convert ships these libraries inside its wheel (no CDN, no npm at run time), and bundles
them into one script on request. Bundling takes seconds, so the script is kept in the user's
cache folder per vl-convert version (``$XDG_CACHE_HOME/trailwise/``, default ``~/.cache``);
a cache that cannot be written only costs the next process the same seconds.
"""

from __future__ import annotations

import contextlib
import functools
import os
from importlib import metadata
from pathlib import Path

from trailwise.pipeline.lake import write_atomic


def cache_path() -> Path:
    """Where the bundle of the installed vl-convert is kept."""
    version = metadata.version("vl-convert-python")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trailwise"
    return cache / f"vega-embed-{version}.js"


@functools.cache
def script() -> str:
    """vega-embed with vega and vega-lite as one module script defining ``window.vegaEmbed``
    (all the page calls), safe to inline in a ``<script>`` element."""
    path = cache_path()
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    import vl_convert

    # A literal "</script" would end the inline element early; in JavaScript "<\/" is "</".
    bundle = vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")
    text = bundle.replace("</script", "<\\/script")
    with contextlib.suppress(OSError):
        write_atomic(path, text.encode("utf-8"))
    return text


def versions() -> dict[str, str]:
    """The library versions the page carries, for its footer."""
    import vl_convert

    return {
        "vega": vl_convert.get_vega_version(),
        "vega-lite": vl_convert.get_vegalite_versions()[-1],
        "vega-embed": vl_convert.get_vega_embed_version(),
    }
