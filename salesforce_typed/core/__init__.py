"""The runtime's shared core: model bases, codecs and (later) the one request path."""
