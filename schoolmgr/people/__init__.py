"""People: staff search user accounts, change roles and deactivate accounts."""
