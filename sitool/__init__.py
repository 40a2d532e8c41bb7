"""sitool: noise-robust speech inversion with a shared SSL encoder (SE + SI heads)."""

__version__ = "0.1.0"
