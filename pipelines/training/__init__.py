"""Training: the one loop, the one checkpoint format, seeding and the device."""
