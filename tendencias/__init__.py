"""Tendencias: consumer trends from posts and sales, on Apache Beam."""

__version__ = "0.1.0"
