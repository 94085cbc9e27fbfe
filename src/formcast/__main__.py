"""``python -m formcast``: the ``formcast`` command (see :mod:`formcast.cli`)."""

import sys

from formcast.cli import main

sys.exit(main())
