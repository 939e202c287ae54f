"""HTTP faces: the Arvados v1 API, the Laserfiche Repository v2 API and Linkbase's own endpoints."""
