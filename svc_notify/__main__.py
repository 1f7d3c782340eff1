"""python -m svc_notify    serve the notify API and run the dispatcher (its commands: `mkt notify --help`)"""

import sys

if sys.argv[1:] not in ([], ["serve"]):
    sys.exit(__doc__)

from svc_kit.app import main
from svc_notify.bootstrap import mount

main("notify", mount)
