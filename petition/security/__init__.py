"""Protection for cookie-free public forms, and the headers every response carries."""
