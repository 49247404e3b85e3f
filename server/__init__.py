"""The composition root: configuration, HTTP API, middleware, CLI and static client."""
