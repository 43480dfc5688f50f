"""``python -m sklearn_losses`` runs the ``sklearn-losses`` command."""

import sys

from .cli import main

sys.exit(main())
