"""Developer tooling: code generation, lint, the local supervisor and throwaway servers."""
