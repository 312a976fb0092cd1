"""The staff audit log page (recording lives in schoolmgr.audit)."""
