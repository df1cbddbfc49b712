"""doctor, migrate and export: tools over the stores (private)."""
