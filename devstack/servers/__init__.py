"""The servers `make run` and the tests start: the platform supervisor, throwaway PostgreSQL,
MongoDB-wire and Pulsar servers, and the local SMTP and provider sinks."""
