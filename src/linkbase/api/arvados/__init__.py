"""The Arvados v1 face: transport rules, params, rendering, discovery."""
