"""Human annotation round-trip: choose rows for review, write tasks, read labels back, store them."""
