"""The audience gRPC servicer, put together from one part per resource."""

from __future__ import annotations

from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc

from svc_audience.entrypoints.common import Dependencies
from svc_audience.entrypoints.lookalike_rpcs import LookalikeRpcs
from svc_audience.entrypoints.privacy_rpcs import PrivacyRpcs
from svc_audience.entrypoints.profile_rpcs import ProfileRpcs
from svc_audience.entrypoints.reachability_rpcs import ReachabilityRpcs
from svc_audience.entrypoints.segment_rpcs import SegmentRpcs
from svc_audience.entrypoints.suppression_rpcs import SuppressionRpcs


class AudienceServicer(ProfileRpcs, SegmentRpcs, SuppressionRpcs, ReachabilityRpcs, LookalikeRpcs, PrivacyRpcs,
                       pb_grpc.AudienceServiceServicer):
    def __init__(self, deps: Dependencies):
        super().__init__(deps)
