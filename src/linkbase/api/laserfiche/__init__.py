"""The Laserfiche Repository API v2 face (Links, entries, link definitions, token)."""
