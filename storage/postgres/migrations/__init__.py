"""hoptac's migrations, applied by ``hoptac db upgrade`` (see :mod:`storage.postgres.schema`)."""
