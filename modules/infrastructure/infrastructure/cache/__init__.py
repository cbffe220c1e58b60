"""Cache adapters for the ``CacheBackend`` port: ``RedisCache`` and ``MemoryCache``, with Redis's error seam."""
