"""python -m svc_analytics    serve the analytics API"""

import sys

if sys.argv[1:] not in ([], ["serve"]):
    sys.exit(__doc__)

from svc_kit.app import main
from svc_analytics.bootstrap import mount

main("analytics", mount)
