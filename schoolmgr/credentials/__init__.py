"""Open Badges 3.0 credentials issued beside certificate PDFs (signed VC-JWT, revocable)."""
