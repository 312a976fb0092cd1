"""Registration: applying to editions, capacity and waiting list, staff review."""
