from svc_kit.app import main
from svc_kit.placeholder import mount_placeholder

main("analytics", mount_placeholder)
