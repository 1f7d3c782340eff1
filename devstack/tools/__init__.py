"""Developer tools: protobuf generation, buf lint, Helm, Tiltfile evaluation and the demo walk-through."""
