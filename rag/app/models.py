"""GGUF chat models downloaded from the Hugging Face Hub, to answer with `--llm local:REPO/FILE`.

The models folder (RAG_MODELS_DIR, default ~/.cache/rag/models) holds, format version 1:

    <owner>/<name>/<file>                        the GGUF, moved there once its sha256 matched the Hub's
    <owner>/<name>/.rag/<file>.json              its manifest: version, repo, file, size, sha256, commit, endpoint
    <owner>/<name>/.rag/<file>.<sha256>.partial  the bytes of a download that stopped, kept to resume it

A model is listed only when its manifest is there and its file has the recorded size, so a
download that stopped, or whose bytes did not match, is never offered to answer with.

Nothing here runs unless asked: `pull` is the only function that reaches the network, and
huggingface_hub is imported inside it, so listing and resolving stay fast and offline.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1
_REPO = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
EXAMPLE = "Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf"


class ModelError(Exception):
    """A model cannot be pulled, found or removed; the message names the setting or command to use."""


@dataclass(frozen=True)
class LocalModel:
    repo: str
    file: str
    size: int
    path: Path
    sha256: str
    commit: str | None = None

    @property
    def spec(self) -> str:
        """What `--llm`, RAG_LLM and the UI's model choice take: 'local:owner/name/file.gguf'."""
        return f"local:{self.repo}/{self.file}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "spec": self.spec}


def split_spec(model: str) -> tuple[str, str]:
    """The model part of `local:MODEL` as (repo, file): the first two path parts are the repo.

    'bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf'
    -> ('bartowski/Llama-3.2-1B-Instruct-GGUF', 'Llama-3.2-1B-Instruct-Q4_K_M.gguf')
    """
    owner, _, rest = model.partition("/")
    name, _, file = rest.partition("/")
    repo = f"{owner}/{name}"
    check_names(repo, file, shown=f"local:{model}")
    return repo, file


def check_names(repo: str, file: str, shown: str | None = None) -> None:
    """Refuse names that are not a Hub repo and a .gguf in it, before they become paths under the models folder."""
    problem = None
    if not _REPO.fullmatch(repo) or ".." in repo or "--" in repo:
        problem = f"{repo!r} is not a Hub repository (OWNER/NAME)"
    elif not file.lower().endswith(".gguf"):
        problem = f"{file!r} is not a .gguf file"
    elif "\\" in file or any(part in {"", ".", ".."} or part.startswith(".") for part in file.split("/")):
        problem = f"{file!r} is not a file name inside the repository"
    if problem:
        raise ModelError(f"{shown or f'{repo} {file}'}: {problem}; expected local:OWNER/NAME/FILE.gguf, "
                         f"e.g. local:{EXAMPLE}")


def resolve(model: str, models_dir: Path) -> Path:
    """The downloaded file for `local:MODEL`, or an error that says how to download it."""
    repo, file = split_spec(model)
    found = find(repo, file, models_dir)
    if found is not None:
        return found.path
    stopped = " (a download of it stopped; pulling again resumes it)" if _partials(models_dir, repo, file) else ""
    raise ModelError(f"local:{model} is not downloaded in {models_dir} (RAG_MODELS_DIR){stopped}: "
                     f"run `rag models pull {repo} {file}`")


def downloaded(models_dir: Path) -> list[LocalModel]:
    """Every complete model in the folder, by repo and file; partial or unverified downloads are not."""
    models = (_load_manifest(path, models_dir) for path in models_dir.glob("*/*/.rag/**/*.json"))
    return sorted((m for m in models if m is not None), key=lambda m: (m.repo.lower(), m.file.lower()))


def find(repo: str, file: str, models_dir: Path) -> LocalModel | None:
    return _load_manifest(_manifest_path(models_dir, repo, file), models_dir)


def remove(repo: str, file: str, models_dir: Path) -> LocalModel | None:
    """Delete a model, its manifest and any partial download of it; the removed model, or None when
    only a partial download was there."""
    check_names(repo, file)
    model = find(repo, file, models_dir)
    leftovers = _partials(models_dir, repo, file)
    target, manifest = models_dir / repo / file, _manifest_path(models_dir, repo, file)
    if model is None and not leftovers and not target.exists() and not manifest.exists():
        raise ModelError(f"{repo}/{file} is not in {models_dir} (RAG_MODELS_DIR): see `rag models list`")
    _discard(models_dir, repo, file)
    return model


def pull(repo: str, file: str, models_dir: Path, *, progress: bool = True) -> LocalModel:
    """Download FILE of the Hub repository REPO into the models folder and check it against the Hub's sha256.

    huggingface_hub's `hf_hub_download` is not used for the transfer: version 2 downloads into a
    process-unique temporary file that it deletes when the download fails, so pulling a 2 GB model
    again after a dropped connection or a Ctrl-C would start from zero; and it checks the size, not
    the sha256. Its parts are used instead: `get_hf_file_metadata` (the HEAD request; honours
    HF_ENDPOINT, HF_HUB_OFFLINE and HF_TOKEN) and `http_get` (retries, Range requests, the progress
    bar) writing to a partial file of ours, kept between attempts and named by the expected sha256.
    """
    check_names(repo, file)
    existing = find(repo, file, models_dir)
    if existing is not None:
        return existing
    import filelock

    url, location, sha256, size, commit = _metadata(repo, file)
    manifest = _manifest_path(models_dir, repo, file)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(_lock_path(manifest)), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ModelError(f"another `rag models pull` is downloading {repo}/{file} into {models_dir}: "
                         "wait for it to finish") from None
    try:
        if (existing := find(repo, file, models_dir)) is not None:  # that other pull finished first
            return existing
        target = models_dir / repo / file
        if not (target.is_file() and _sha256(target) == sha256):  # else moved in place, manifest not yet written
            partial = manifest.with_name(f"{Path(file).name}.{sha256}.partial")
            _download(repo, file, models_dir, url, location, partial, size, progress)
            actual = _sha256(partial)
            if actual != sha256:
                _discard(models_dir, repo, file)
                raise ModelError(f"{repo}/{file} from {_endpoint()}: the downloaded bytes have sha256 {actual}, "
                                 f"the Hub reports {sha256}; the download was deleted. Pull again; if it happens "
                                 "again, the server (HF_ENDPOINT) or a proxy is altering the file")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, target)
        return _finish(models_dir, repo, file, sha256, commit, manifest)
    finally:
        lock.release()


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _metadata(repo: str, file: str) -> tuple[str, str, str, int | None, str]:
    """(url, where the bytes are, sha256, size, commit) from a HEAD request, or an error that names the setting."""
    import httpx2
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    name, endpoint = f"{repo}/{file}", constants.ENDPOINT
    if constants.is_offline_mode():  # read once, when huggingface_hub was imported
        raise ModelError(f"cannot download {name}: HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set, so "
                         "huggingface_hub stays offline; unset it, or set HF_HUB_OFFLINE=0, to pull a model")
    url = hf_hub_url(repo, file)
    try:
        meta = get_hf_file_metadata(url)
    except GatedRepoError:
        raise ModelError(f"{repo} on {endpoint} is gated: accept its terms on the Hub, then log in "
                         "(`hf auth login`, or HF_TOKEN) to pull it") from None
    except RepositoryNotFoundError:
        raise ModelError(f"no repository {repo} on {endpoint} (HF_ENDPOINT), or it is private: check the "
                         "name, or log in (`hf auth login`, or HF_TOKEN)") from None
    except (RemoteEntryNotFoundError, RevisionNotFoundError):
        raise ModelError(f"{repo} on {endpoint} has no file {file}: its .gguf names are in the "
                         "repository's 'Files' tab") from None
    except HfHubHTTPError as exc:
        raise ModelError(f"the Hub at {endpoint} (HF_ENDPOINT) refused {name}: {_first_line(exc)}") from None
    except (httpx2.HTTPError, OSError) as exc:
        raise ModelError(f"cannot reach the Hub at {endpoint} (HF_ENDPOINT) to download {name}: "
                         f"{_first_line(exc)}; check the connection, or set HF_ENDPOINT to a mirror") from None
    sha256 = meta.etag or ""
    if meta.commit_hash is None:
        raise ModelError(f"{endpoint} (HF_ENDPOINT) does not answer like a Hugging Face Hub: "
                         f"no X-Repo-Commit header for {name}")
    if not _SHA256.fullmatch(sha256):
        raise ModelError(f"the Hub reports no sha256 for {name} (it is not stored with Git LFS), so the "
                         "download could not be checked; a GGUF model always is")
    return url, meta.location, sha256, meta.size, meta.commit_hash


def _download(repo: str, file: str, models_dir: Path, url: str, location: str, partial: Path, size: int | None,
              progress: bool) -> None:
    """Append to `partial` what it lacks, from where it stopped; on failure the bytes stay for the next pull."""
    import httpx2
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers
    from huggingface_hub.utils.tqdm import silent_tqdm

    for stale in _partials(models_dir, repo, file):  # of a file the Hub has replaced since
        if stale != partial:
            stale.unlink()
    resume = partial.stat().st_size if partial.exists() else 0
    if size is not None and resume > size:
        partial.unlink()
        resume = 0
    free = shutil.disk_usage(partial.parent).free
    if size is not None and free < size - resume:
        raise ModelError(f"{repo}/{file} needs {human_size(size - resume)} free in {models_dir} (RAG_MODELS_DIR); "
                         f"{human_size(free)} is free")
    headers = build_hf_headers()
    if _origin(location) != _origin(url):  # a CDN's signed URL: the token stays with the Hub
        headers.pop("authorization", None)
    try:
        with partial.open("ab") as out:
            http_get(location, out, resume_size=resume, headers=headers, expected_size=size,
                     displayed_filename=file, tqdm_class=None if progress else silent_tqdm)
    except (httpx2.HTTPError, OSError) as exc:
        got = partial.stat().st_size if partial.exists() else 0
        raise ModelError(f"download of {repo}/{file} from {_endpoint()} stopped at {human_size(got)} of "
                         f"{human_size(size) if size else '?'} ({_first_line(exc)}): run "
                         f"`rag models pull {repo} {file}` again to resume") from None


def _finish(models_dir: Path, repo: str, file: str, sha256: str, commit: str, manifest: Path) -> LocalModel:
    """Write the manifest that makes the model listed, atomically: a reader sees all of it or none."""
    target = models_dir / repo / file
    record = {"version": MANIFEST_VERSION, "repo": repo, "file": file, "size": target.stat().st_size,
              "sha256": sha256, "commit": commit, "endpoint": _endpoint()}
    tmp = manifest.with_name(f"{manifest.name}.tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n", "utf-8")
    os.replace(tmp, manifest)
    model = find(repo, file, models_dir)
    assert model is not None
    return model


def _load_manifest(path: Path, models_dir: Path) -> LocalModel | None:
    try:
        record = json.loads(path.read_text("utf-8"))
        if record.get("version") != MANIFEST_VERSION:
            return None
        repo, file = str(record["repo"]), str(record["file"])
        check_names(repo, file)
        target = models_dir / repo / file
        if path != _manifest_path(models_dir, repo, file) or target.stat().st_size != record["size"]:
            return None
        return LocalModel(repo, file, int(record["size"]), target, str(record["sha256"]), record.get("commit"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ModelError):
        return None


def _manifest_path(models_dir: Path, repo: str, file: str) -> Path:
    return models_dir / repo / ".rag" / f"{file}.json"


def _partials(models_dir: Path, repo: str, file: str) -> list[Path]:
    manifest = _manifest_path(models_dir, repo, file)
    return sorted(manifest.parent.glob(f"{glob.escape(Path(file).name)}.*.partial"))


def _lock_path(manifest: Path) -> Path:
    return manifest.with_name(f"{manifest.name}.lock")


def _discard(models_dir: Path, repo: str, file: str) -> None:
    """Delete the manifest first (so the model stops being listed), then the bytes, then emptied folders."""
    manifest, target = _manifest_path(models_dir, repo, file), models_dir / repo / file
    for path in [manifest, *_partials(models_dir, repo, file), target, _lock_path(manifest)]:
        path.unlink(missing_ok=True)
    for folder in (manifest.parent, target.parent):
        while folder != models_dir and folder.is_relative_to(models_dir):
            try:
                folder.rmdir()
            except OSError:  # not empty (another model of the repo), or already gone
                break
            folder = folder.parent


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _origin(url: str) -> tuple[str, str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def human_size(size: int) -> str:
    """253113024 -> '253.1 MB'."""
    return f"{size / 1e9:.2f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB"
