"""Money helpers: amounts are integer fen inside, yuan strings with two decimals outside."""

from __future__ import annotations

import numpy as np
import polars as pl


def yuan(col: str | pl.Expr) -> pl.Expr:
    """Polars expression turning non-negative integer fen into 'yuan.ff' strings."""
    fen = pl.col(col) if isinstance(col, str) else col
    return (fen // 100).cast(pl.Utf8) + pl.lit(".") + (fen % 100).cast(pl.Utf8).str.zfill(2)


def share(total_fen: np.ndarray, basis_points: np.ndarray) -> np.ndarray:
    """Floor of total × basis points / 10 000, exact in int64 (no float on money)."""
    return (
        np.asarray(total_fen, dtype=np.int64) * np.asarray(basis_points, dtype=np.int64) // 10_000
    )


def fen_from_yuan(amount_yuan: np.ndarray) -> np.ndarray:
    """Round generated (random, float) yuan amounts to whole fen, at least 1 fen.

    Used only where an amount is *drawn* from a distribution; after this, all money
    arithmetic is on int64 fen.
    """
    return np.maximum(np.rint(np.asarray(amount_yuan) * 100), 1).astype(np.int64)
