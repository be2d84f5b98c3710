"""``policy replay``: every call a principal made, evaluated against proposed identity policies."""
