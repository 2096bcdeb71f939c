"""Fuzz targets shared by the atheris harness and the Hypothesis tests (see README.md)."""
