"""Privacy requests: a person's data export and erasure, across every capability that stores personal data."""
