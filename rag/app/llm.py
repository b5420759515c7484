"""Chat models from one setting, through LangChain's provider packages.

`openai:gpt-4o-mini`, `openai-compatible:MODEL` (with a base URL), `ollama:llama3.1`,
`llamacpp:/path/model.gguf` and `local:OWNER/NAME/FILE.gguf` (a model `rag models pull`
downloaded, run like llamacpp). Provider packages are optional extras; a missing one is a
message naming the extra to install, not an ImportError.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from rag.config import LLM_ANSWER_TOKENS, LLM_CONTEXT, LLM_TIMEOUT

PROVIDERS = ("openai", "openai-compatible", "ollama", "llamacpp", "local")


class LLMConfigError(ValueError):
    """The LLM setting cannot be used as given; the message names the setting or extra."""


@dataclass(frozen=True)
class LLMSpec:
    provider: str
    model: str
    base_url: str | None = None
    api_key: str | None = None
    timeout: float = LLM_TIMEOUT
    context_tokens: int = LLM_CONTEXT
    answer_tokens: int = LLM_ANSWER_TOKENS
    path: Path | None = None
    """The GGUF file a `local:` model resolved to (`llamacpp:` has it in `model`)."""

    @property
    def label(self) -> str:
        return f"{self.provider}:{Path(self.model).name if self.provider == 'llamacpp' else self.model}"


def parse_spec(spec: str, *, models_dir: Path | None = None, **options: Any) -> LLMSpec:
    """'ollama:llama3.1' -> LLMSpec('ollama', 'llama3.1'); 'local:o/n/f.gguf' -> LLMSpec('local', 'o/n/f.gguf',
    path=models_dir/o/n/f.gguf), once `rag models pull` has downloaded it into `models_dir`."""
    provider, sep, model = spec.partition(":")
    if not sep or not model or provider not in PROVIDERS:
        raise LLMConfigError(f"--llm / RAG_LLM {spec!r}: expected PROVIDER:MODEL with PROVIDER one of "
                             f"{', '.join(PROVIDERS)}")
    if provider == "openai-compatible" and not options.get("base_url"):
        raise LLMConfigError("--llm openai-compatible:... needs --llm-base-url / RAG_LLM_BASE_URL "
                             "(e.g. http://127.0.0.1:8080/v1)")
    if provider == "llamacpp" and not Path(model).is_file():
        raise LLMConfigError(f"--llm llamacpp:{model}: no such GGUF file")
    if provider == "local":
        from rag.app.models import ModelError, resolve

        if models_dir is None:  # the edge (cli.py) passes settings.models_dir
            raise LLMConfigError(f"--llm local:{model}: no models folder given (RAG_MODELS_DIR)")
        try:
            path = resolve(model, models_dir)
        except ModelError as exc:
            raise LLMConfigError(f"--llm / RAG_LLM: {exc}") from None
        return LLMSpec(provider, model, path=path, **options)
    return LLMSpec(provider, model, **options)


def _missing(extra: str, package: str) -> LLMConfigError:
    return LLMConfigError(f"the {extra} provider needs the package {package}: pip install -e \".[{extra}]\"")


def chat_model(spec: LLMSpec) -> Any:
    """A LangChain chat model for the spec; deterministic (temperature 0) and bounded."""
    if spec.provider in {"openai", "openai-compatible"}:
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            raise _missing("openai", "langchain-openai") from None
        key = spec.api_key or ("not-needed" if spec.provider == "openai-compatible" else None)
        if key is None:
            raise LLMConfigError("--llm openai:... needs OPENAI_API_KEY in the environment")
        import openai

        hook = _no_long_waits(spec.timeout)

        async def async_hook(response: Any) -> None:
            hook(response)

        # LangChain sends the limit as max_completion_tokens, which OpenAI wants; servers that
        # only know max_tokens (llama-cpp-python's among them) would otherwise not stop.
        extra = {"max_tokens": spec.answer_tokens} if spec.provider == "openai-compatible" else None
        return ChatOpenAI(model=spec.model, base_url=spec.base_url, api_key=SecretStr(key), temperature=0,
                          timeout=spec.timeout, max_retries=2, max_completion_tokens=spec.answer_tokens,
                          extra_body=extra,
                          http_client=openai.DefaultHttpxClient(event_hooks={"response": [hook]}),
                          http_async_client=openai.DefaultAsyncHttpxClient(event_hooks={"response": [async_hook]}))
    if spec.provider == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError:
            raise _missing("ollama", "langchain-ollama") from None
        return ChatOllama(model=spec.model, base_url=spec.base_url, temperature=0, num_predict=spec.answer_tokens,
                          client_kwargs={"timeout": spec.timeout})
    try:
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError:
        raise _missing("llamacpp", "langchain-community and llama-cpp-python") from None
    # rope_freq_* 0 = as the GGUF file says; ChatLlamaCpp's own default (base 10000) would
    # override models trained with another (Llama 3: 500000, Qwen and Gemma 3: 1000000).
    # No chat_format: ChatLlamaCpp passes none to llama_cpp.Llama, which then formats messages with
    # the GGUF's own `tokenizer.chat_template` (Jinja) when the file has one, and with the llama-2
    # format when it has none (the bundled Gemma 270M has none).
    return ChatLlamaCpp(model_path=str(spec.path or spec.model), n_ctx=spec.context_tokens, temperature=0.0,
                        max_tokens=spec.answer_tokens, verbose=False, n_threads=2,
                        rope_freq_base=0.0, rope_freq_scale=0.0)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a server asks us to wait: {'retry-after': '30'} -> 30.0, {'retry-after-ms': '250'}
    -> 0.25, an HTTP date -> the seconds until it; None when absent or unreadable."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - (time.time() if now is None else now)


def _no_long_waits(limit: float) -> Callable[[Any], None]:
    """A response hook: a server asking to be retried later than `limit` seconds is not retried.

    The OpenAI client honours Retry-After for up to two minutes per retry, so a rate-limited
    server would hold an answer for minutes whatever RAG_LLM_TIMEOUT says; marked this way
    the call fails at once and the answer falls back to quoted sentences.
    """

    def hook(response: Any) -> None:
        wait = retry_after(response.headers)
        if wait is not None and wait > limit:
            response.headers["x-should-retry"] = "false"

    return hook
