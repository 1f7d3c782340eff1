"""python -m svc_campaign    serve the campaign API (its commands: `mkt campaign --help`)"""

import sys

if sys.argv[1:] not in ([], ["serve"]):
    sys.exit(__doc__)

from svc_kit.app import main
from svc_campaign.bootstrap import mount

main("campaign", mount)
