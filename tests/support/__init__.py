"""Helpers shared by the test layers: bounded waits, commands, the engines seen through the
product's own clients, the seed's facts and hand-written expectations, load and poison."""
