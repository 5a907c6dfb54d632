"""Finding credential material in a setup and keeping it out of every output."""
