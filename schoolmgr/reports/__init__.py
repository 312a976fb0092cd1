"""Programme reports across editions and years (staff)."""
