"""python -m svc_content    serve the content API (its commands: `mkt content --help`)"""

import sys

if sys.argv[1:] not in ([], ["serve"]):
    sys.exit(__doc__)

from svc_kit.app import main
from svc_content.bootstrap import mount

main("content", mount)
