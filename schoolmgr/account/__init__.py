"""Account: every signed-in user edits their own profile and password."""
