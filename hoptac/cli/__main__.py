"""``python -m hoptac.cli``: the ``hoptac`` command."""

import sys

from hoptac.cli import main

sys.exit(main())
