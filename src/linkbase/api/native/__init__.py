"""Linkbase's own endpoints (``/linkbase/v1/...``): what neither Arvados nor Laserfiche offers."""
