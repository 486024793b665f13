"""API keys: kept in the OS keyring or an environment variable, never in SQLite.

An endpoint stores only a *reference*: ``""`` (no key), ``"env:VAR"`` or
``"keyring"`` (service ``mlops-desk``, user = endpoint name). Every key this
process loads is remembered so ``redact`` can scrub it from logs and error texts.
"""

from __future__ import annotations

import os
import re
import threading

from mlops_desk.core.errors import BadInput

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
        raise BadInput(f"{why}; use --api-key-env VAR to read the key from an environment variable")
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, endpoint_name, secret.strip())
    except Exception as exc:
        raise BadInput(
            f"could not save the key in the OS keyring ({type(exc).__name__}); "
            "use --api-key-env VAR instead"
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
                "set it again with 'endpoint set-key' or use --api-key-env"
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
