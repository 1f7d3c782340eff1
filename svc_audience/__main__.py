from svc_audience.bootstrap import mount
from svc_kit.app import main

main("audience", mount)
