"""Nominations: national coordinators rank and nominate the people of their country."""
