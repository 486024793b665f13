"""The frozen executable's entry point: the same ``main`` as the ``mlops-desk`` script."""

import sys

from mlops_desk.cli import main

if __name__ == "__main__":
    sys.exit(main())
