"""Synthetic county generator: people, identities, department lists, enrollment, claims.

Pure Python (NumPy, Polars, xlsxwriter); no Django, no database. Everything written is
synthetic. Entry point: :func:`generate`.
"""

from fangpin.synth.county import generate

__all__ = ["generate"]
