"""hoptac: grounded answers about regional-cooperation news, in Vietnamese."""

__version__ = "0.1.0"
