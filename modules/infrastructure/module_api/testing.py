"""Test doubles for sibling modules' tests: public, supported, in memory; swap them in with ``override``.

    from modules.infrastructure.module_api.testing import MemoryCache

    with InfrastructureService.override(cache=MemoryCache()):
        ...   # get_cache(...) now works on a fresh in-memory backend; inspect it with get()/stats()
"""

from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache

__all__ = ["MemoryCache"]
