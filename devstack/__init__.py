"""The local development stack: servers/ holds what `make run` and the tests start (the platform
supervisor, throwaway PostgreSQL, MongoDB-wire and Pulsar servers, the SMTP and provider sinks);
tools/ the developer tools (protobuf generation, buf lint, Helm, Tiltfile evaluation, the demo);
processes.py the process helpers both use."""
