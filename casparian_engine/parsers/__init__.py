"""Parser API support in the host: loading, bundling, identity and the gatekeeper."""
