import sys

from mlops_desk.cli import main

sys.exit(main())
