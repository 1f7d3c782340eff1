"""python -m svc_audience    serve the audience API (its commands: `mkt audience --help`)"""

import sys

if sys.argv[1:] not in ([], ["serve"]):
    sys.exit(__doc__)

from svc_audience.bootstrap import mount
from svc_kit.app import main

main("audience", mount)
