"""Cache adapters: ``RedisCache``, ``MemoryCache`` and the ``NamespacedCache`` every module gets."""
