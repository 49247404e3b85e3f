"""Persistence for Parley: models, repositories, migrations. Knows nothing of HTTP or Socket.IO."""
