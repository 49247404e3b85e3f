"""The real-time consultation core: rules, protocol, presence, services, one Socket.IO adapter."""
