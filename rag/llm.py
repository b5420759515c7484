"""Chat models from one setting, through LangChain's provider packages.

`openai:gpt-4o-mini`, `openai-compatible:MODEL` (with a base URL), `ollama:llama3.1` and
`llamacpp:/path/model.gguf`. Provider packages are optional extras; a missing one is a
message naming the extra to install, not an ImportError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

PROVIDERS = ("openai", "openai-compatible", "ollama", "llamacpp")


class LLMConfigError(ValueError):
    """The LLM setting cannot be used as given; the message names the setting or extra."""


@dataclass(frozen=True)
class LLMSpec:
    provider: str
    model: str
    base_url: str | None = None
    api_key: str | None = None
    timeout: float = 60.0
    context_tokens: int = 8192
    answer_tokens: int = 400

    @property
    def label(self) -> str:
        return f"{self.provider}:{Path(self.model).name if self.provider == 'llamacpp' else self.model}"


def parse_spec(spec: str, **options: Any) -> LLMSpec:
    """'ollama:llama3.1' -> LLMSpec('ollama', 'llama3.1')."""
    provider, sep, model = spec.partition(":")
    if not sep or not model or provider not in PROVIDERS:
        raise LLMConfigError(f"--llm / RAG_LLM {spec!r}: expected PROVIDER:MODEL with PROVIDER one of "
                             f"{', '.join(PROVIDERS)}")
    if provider == "openai-compatible" and not options.get("base_url"):
        raise LLMConfigError("--llm openai-compatible:... needs --llm-base-url / RAG_LLM_BASE_URL "
                             "(e.g. http://127.0.0.1:8080/v1)")
    if provider == "llamacpp" and not Path(model).is_file():
        raise LLMConfigError(f"--llm llamacpp:{model}: no such GGUF file")
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
        return ChatOpenAI(model=spec.model, base_url=spec.base_url, api_key=SecretStr(key), temperature=0,
                          timeout=spec.timeout, max_retries=2, max_completion_tokens=spec.answer_tokens)
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
    return ChatLlamaCpp(model_path=spec.model, n_ctx=spec.context_tokens, temperature=0.0,
                        max_tokens=spec.answer_tokens, verbose=False, n_threads=2)
