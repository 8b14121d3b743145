"""The study's machinery: surrogate benchmark, noise floor, confirmatory runs."""
