"""API keys: kept in the OS keyring or an environment variable, never in SQLite.

An endpoint stores only a *reference*: ``""`` (no key), ``"env:VAR"`` or
``"keyring"`` (service ``mlops-desk``, user = endpoint name). Every key this
process loads is remembered so ``redact`` can scrub it from logs and error texts.
The audit log's HMAC key (one per registry) is kept the same way: keyring or 0600 file.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from mlops_desk.core.errors import BadInput, StoreError

KEYRING_SERVICE = "mlops-desk"
# Servers like Ollama or vLLM need no key, but the openai SDK insists on one.
NO_KEY_PLACEHOLDER = "not-needed"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Provider-style keys (sk-..., sk-proj-...) are scrubbed even when we never loaded them.
_KEY_PATTERN = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")
# The userinfo of a URL (``scheme://user:password@``): up to the last '@' of the authority.
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*://)([^\s/?#]*)@")

_known: set[str] = set()
_known_lock = threading.Lock()


def remember(secret: str) -> None:
    if secret and len(secret) >= 4:
        with _known_lock:
            _known.add(secret)


def redact(text: str) -> str:
    """Replace every secret this process knows, anything key-shaped and the password of any
    ``scheme://user:password@host`` URL with ***."""
    if not text:
        return text
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, "***")
    text = _KEY_PATTERN.sub("sk-***", text)
    return _URL_USERINFO.sub(_mask_userinfo, text) if "://" in text else text


def redact_url(url: str) -> str:
    """One whole URL with its user name and password masked: ``http://user:pw@host/v1`` ->
    ``http://user:***@host/v1``; a lone ``token@`` -> ``***@`` (a user name alone is often the
    key itself). Everything up to the last '@' before the query counts, so a password holding
    '/' or '@' is masked too."""
    at = _userinfo_end(url)
    if at < 0:
        return url
    scheme, _sep, rest = url.partition("://")
    user, colon, _password = rest[:at].partition(":")
    masked = f"{user}:***" if colon and user and "/" not in user else "***"
    return f"{scheme}://{masked}@{rest[at + 1:]}"


def has_url_credentials(url: str) -> bool:
    """Whether the URL carries a user name or password (what ``redact_url`` masks)."""
    return _userinfo_end(url) >= 0


def _userinfo_end(url: str) -> int:
    """Index (after ``://``) of the last '@' before the query or fragment, or -1."""
    _scheme, sep, rest = (url or "").partition("://")
    end = min([i for i in (rest.find("?"), rest.find("#")) if i >= 0] or [len(rest)])
    return rest.rfind("@", 0, end) if sep else -1


def _mask_userinfo(match: re.Match) -> str:
    user, colon, _password = match.group(2).partition(":")
    return f"{match.group(1)}{user}:***@" if colon and user else f"{match.group(1)}***@"


def env_ref(var: str) -> str:
    if not _ENV_NAME.match(var or ""):
        raise BadInput(f"not an environment variable name: {var!r}")
    return f"env:{var}"


def keyring_status() -> tuple[bool, str]:
    """(usable, explanation). Headless Linux usually has no backend."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring install must not break the app
        return False, f"the keyring package failed to load ({type(exc).__name__})"
    if isinstance(backend, fail.Keyring):
        return False, "no OS keyring backend works here (headless Linux?)"
    backends = getattr(backend, "backends", None)
    if backends is not None and not backends:
        return False, "no OS keyring backend works here (headless Linux?)"
    return True, f"keyring backend: {type(backend).__name__}"


def store_in_keyring(endpoint_name: str, secret: str) -> str:
    """Save the key in the OS keyring; return the reference to store."""
    if not secret.strip():
        raise BadInput("the API key is empty")
    usable, why = keyring_status()
    if not usable:
        raise BadInput(f"{why}; read the key from an environment variable instead",
                       hint="--api-key-env VAR")
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, endpoint_name, secret.strip())
    except Exception as exc:
        raise BadInput(
            f"could not save the key in the OS keyring ({type(exc).__name__}); "
            "read the key from an environment variable instead", hint="--api-key-env VAR"
        ) from None
    remember(secret.strip())
    return "keyring"


def delete_from_keyring(endpoint_name: str) -> None:
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, endpoint_name)
    except Exception:  # nothing stored, or no backend: nothing to delete
        pass


def resolve(endpoint_name: str, ref: str) -> str:
    """The key for an endpoint, or the placeholder when it needs none."""
    if not ref:
        return NO_KEY_PLACEHOLDER
    if ref.startswith("env:"):
        var = ref[4:]
        value = os.environ.get(var, "")
        if not value:
            raise BadInput(
                f"endpoint {endpoint_name} reads its API key from ${var}, which is not set"
            )
        remember(value)
        return value
    if ref == "keyring":
        try:
            import keyring

            value = keyring.get_password(KEYRING_SERVICE, endpoint_name)
        except Exception:
            value = None
        if not value:
            raise BadInput(
                f"endpoint {endpoint_name}: no API key found in the OS keyring; "
                "set the key again, or read it from an environment variable",
                hint="'endpoint set-key' or --api-key-env VAR"
            )
        remember(value)
        return value
    raise BadInput(f"endpoint {endpoint_name}: unknown key reference {ref!r}")


def describe(ref: str) -> str:
    """How the key is found, for listings (never the key itself)."""
    if not ref:
        return "none"
    if ref.startswith("env:"):
        return f"${ref[4:]}"
    return "OS keyring"


# -- the audit key ------------------------------------------------------------
# One HMAC key per registry (named by the registry id in its meta table, so a moved file keeps
# its key). It lives outside the database so that someone who can only write the file cannot
# re-sign a rewritten log: in the OS keyring where one works, else in a 0600 file.

AUDIT_KEYRING_SERVICE = "mlops-desk-audit"
# "file" keeps audit keys in files even where a keyring works (tests, machines whose keyring
# prompts); the default "auto" prefers the keyring.
AUDIT_KEY_STORE_ENV = "MLOPS_DESK_AUDIT_KEY_STORE"
_KEY_BYTES = 32


def config_dir() -> Path:
    """``MLOPS_DESK_CONFIG_DIR`` if set, else the platform's user-config dir."""
    env = os.environ.get("MLOPS_DESK_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_config_path("mlops-desk", appauthor=False)


def audit_dir() -> Path:
    """Where audit key files and checkpoints live (created 0700 on first write)."""
    return config_dir() / "audit"


REGISTRY_ID = re.compile(r"^[0-9a-f]{32}$")


def audit_file(registry_id: str, suffix: str) -> Path:
    # The id comes from the database, which an attacker may write: never let it name a path.
    if not REGISTRY_ID.match(registry_id):
        raise StoreError(f"the registry id {registry_id[:40]!r} is damaged")
    return audit_dir() / f"{registry_id}{suffix}"


def audit_key_file(registry_id: str) -> Path:
    return audit_file(registry_id, ".key")


def _audit_keyring_wanted() -> bool:
    return os.environ.get(AUDIT_KEY_STORE_ENV, "auto").strip().lower() != "file"


def load_audit_key(registry_id: str) -> bytes | None:
    """The registry's audit key from the keyring or its key file, or None if neither has it."""
    if _audit_keyring_wanted() and keyring_status()[0]:
        try:
            import keyring

            value = keyring.get_password(AUDIT_KEYRING_SERVICE, registry_id)
        except Exception:  # a keyring that fails to answer: the file may still have it
            value = None
        if value:
            return bytes.fromhex(value)
    try:
        text = audit_key_file(registry_id).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        return None
    return key if len(key) == _KEY_BYTES else None


def create_audit_key(registry_id: str) -> bytes:
    """Make and save a new key for a registry that has none; returns it."""
    key = os.urandom(_KEY_BYTES)
    if _audit_keyring_wanted() and keyring_status()[0]:
        try:
            import keyring

            keyring.set_password(AUDIT_KEYRING_SERVICE, registry_id, key.hex())
            return key
        except Exception:  # a keyring that refuses: the key file is the documented fallback
            pass
    path = audit_key_file(registry_id)
    try:
        private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise StoreError(f"cannot save the audit key in {path}: {exc.strerror or exc}") from None
    return key


def audit_key_places(registry_id: str) -> str:
    """Where the key is looked for, for messages (never the key)."""
    where = str(audit_key_file(registry_id))
    if _audit_keyring_wanted():
        where = f"the OS keyring ({AUDIT_KEYRING_SERVICE}/{registry_id}) or {where}"
    return where


def private_dir(path: Path) -> None:
    """Create a folder only its owner can enter (no-op where it exists)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
