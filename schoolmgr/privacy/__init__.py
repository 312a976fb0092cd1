"""Privacy: a person's own data, downloadable, and deletion by anonymisation."""
