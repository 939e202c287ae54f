"""Services: one module per concept, each a set of use cases over storage and the domain rules."""
