import sys

from asgilab.doctor.cli import main

sys.exit(main())
