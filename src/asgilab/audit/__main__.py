import sys

from asgilab.audit.cli import main

sys.exit(main(["audit", *sys.argv[1:]]))
