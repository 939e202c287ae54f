"""The domain core: identifiers, levels, errors and query models. Knows nothing of HTTP or SQL."""
