"""The dispatcher's parts, one per responsibility: claiming due work
(claiming), who may be sent to now (pacing), rendering templates (rendering),
provider rate limits (rate_limits), the hand-over to a channel's providers
(sending) and recording outcomes (recording); service_layer/dispatcher.py
composes them."""
