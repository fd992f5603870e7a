"""Personal data (PII) at rest: field encryption, blind indexes, masking, key rotation.

Encryption
    Values of :class:`EncryptedTextField` are stored as Fernet tokens (AES-128-CBC +
    HMAC-SHA256, random IV: two encryptions of the same value differ). The keys come from
    ``settings.GROUPCRM_FIELD_KEYS``: the **first** key encrypts, **all** keys decrypt, so a
    new key is prepended, ``groupcrm keys rotate`` re-encrypts the stored values with it,
    and the old key is removed once ``groupcrm keys check`` is clean. With no keys
    configured (development, tests) a key is generated once, at first use, into
    ``$GROUPCRM_VAR_DIR/field_keys`` (mode 0600), as settings.py does for SECRET_KEY.

Blind index
    Ciphertext cannot be searched, so an exact lookup goes through a separate indexed
    column holding :func:`blind_index` of the normalised value (a keyed HMAC). Its key is
    deliberately *not* one of the encryption keys: rotating encryption keys must not change
    the index values, or every lookup would break until a full re-index. It is
    ``settings.GROUPCRM_INDEX_KEY`` when set, else derived with HKDF-SHA256 from
    SECRET_KEY; in that case changing SECRET_KEY changes every index value, which is why
    production should set GROUPCRM_INDEX_KEY once and keep it.

Masking
    ``mask_*`` give display forms such as ``138****8000`` for lists, exports and
    people without the permission to see the full value.
"""

import hashlib
import hmac
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections, models, router, transaction
from django.db.models.lookups import Exact
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

__all__ = [
    "CheckResult",
    "DecryptionError",
    "EncryptedTextField",
    "blind_index",
    "check_all",
    "decrypt",
    "encrypt",
    "encrypted_fields",
    "generate_key",
    "mask_email",
    "mask_id_number",
    "mask_phone",
    "mask_text",
    "reset_keys",
    "rotate_all",
]

INDEX_LENGTH = 32  # hex characters of the blind index: 128 bits
_INDEX_INFO = b"groupcrm blind index"
_MIN_INDEX_KEY_LENGTH = 32
_DEV_KEY_FILE = "field_keys"
# Base64 of 32 bytes (url-safe, as generated; Fernet also accepts the standard alphabet).
_KEY_FORMAT = re.compile(r"[A-Za-z0-9_\-+/]{43}=")


class DecryptionError(ValueError):
    """A stored value that none of the configured keys decrypts (or that is no token)."""


# --- Keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Keyring:
    primary: Fernet
    multi: MultiFernet


_lock = threading.Lock()
_keyring: _Keyring | None = None
_index_key: bytes | None = None


def generate_key() -> str:
    """A new random key for GROUPCRM_FIELD_KEYS (urlsafe base64 of 32 bytes, 44 chars)."""
    return Fernet.generate_key().decode("ascii")


def _dev_key() -> str:
    """The development key: generated once into VAR_DIR/field_keys, then reused."""
    path = settings.VAR_DIR / _DEV_KEY_FILE
    try:
        # O_EXCL: of several processes starting at once, exactly one writes the key,
        # created 0600 from the start; the others read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key())
    for _attempt in range(50):
        if key := path.read_text().strip():
            return key
        time.sleep(0.1)  # the writer has created the file but not yet written it
    raise ImproperlyConfigured(f"{path} is empty: delete it or set GROUPCRM_FIELD_KEYS")


def _configured_keys() -> list[str]:
    keys = getattr(settings, "GROUPCRM_FIELD_KEYS", None) or []
    if isinstance(keys, str):  # tolerate a raw comma-separated string in settings
        keys = keys.split(",")
    return [str(key).strip() for key in keys if str(key).strip()]


def _load_keyring() -> _Keyring:
    keys = _configured_keys()
    from_file = not keys
    if from_file:
        keys = [_dev_key()]
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            # Fernet alone would ignore anything after the padding (a pasting accident).
            if not _KEY_FORMAT.fullmatch(key):
                raise ValueError
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # Never include the key itself in the message: it ends up in logs.
            if from_file:
                where = (
                    f"{settings.VAR_DIR / _DEV_KEY_FILE} (used while GROUPCRM_FIELD_KEYS is empty)"
                )
            else:
                where = f"GROUPCRM_FIELD_KEYS: key {number} of {len(keys)}"
            raise ImproperlyConfigured(
                f"{where} is not a valid field encryption key: each key must be 32 bytes "
                "in url-safe base64 (44 characters). Generate one with "
                "`groupcrm keys generate`."
            ) from None
    return _Keyring(primary=fernets[0], multi=MultiFernet(fernets))


def _keys() -> _Keyring:
    global _keyring
    ring = _keyring
    if ring is None:
        with _lock:
            if _keyring is None:
                _keyring = _load_keyring()
            ring = _keyring
    return ring


def _load_index_key() -> bytes:
    configured = str(getattr(settings, "GROUPCRM_INDEX_KEY", "") or "").strip()
    if configured:
        if len(configured) < _MIN_INDEX_KEY_LENGTH:
            raise ImproperlyConfigured(
                f"GROUPCRM_INDEX_KEY is too short: use at least {_MIN_INDEX_KEY_LENGTH} "
                "random characters (for example the output of `groupcrm keys generate`)."
            )
        return configured.encode("utf-8")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INDEX_INFO)
    return hkdf.derive(str(settings.SECRET_KEY).encode("utf-8"))


def _blind_index_key() -> bytes:
    global _index_key
    key = _index_key
    if key is None:
        with _lock:
            if _index_key is None:
                _index_key = _load_index_key()
            key = _index_key
    return key


def reset_keys() -> None:
    """Forget the cached keys: the next use reads the settings again (tests, reloads)."""
    global _keyring, _index_key
    with _lock:
        _keyring = None
        _index_key = None


_KEY_SETTINGS = {"GROUPCRM_FIELD_KEYS", "GROUPCRM_INDEX_KEY", "SECRET_KEY", "VAR_DIR"}


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _KEY_SETTINGS:
        reset_keys()


# --- Encryption -------------------------------------------------------------------------


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` with the primary (first) key; a new random token every time."""
    return _keys().multi.encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt a token made with any configured key; :class:`DecryptionError` if none fits."""
    try:
        return _keys().multi.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            "a stored value cannot be decrypted with any of the configured "
            "GROUPCRM_FIELD_KEYS (was a key removed before `groupcrm keys rotate`?)"
        ) from None


def blind_index(kind: str, normalised_value: str) -> str:
    """Keyed hash for exact lookups of encrypted values: 32 hex characters.

    ``kind`` (``"mobile"``, ``"email"``…) is part of the input, so equal strings of
    different kinds never share an index value. Callers normalise first (for example
    E.164 for phones, lower case for email). The empty value indexes as ``""``, so that
    blank fields stay blank in the index column too.
    """
    if not kind or "\x00" in kind:
        raise ValueError("blind_index: kind must be a non-empty string without NUL")
    if not normalised_value:
        return ""
    message = kind.encode("utf-8") + b"\x00" + normalised_value.encode("utf-8")
    digest = hmac.new(_blind_index_key(), message, hashlib.sha256).hexdigest()
    return digest[:INDEX_LENGTH]


# --- The model field --------------------------------------------------------------------


class _EmptyOnlyExact(Exact):
    """``field=""`` is the only equality that works on ciphertext (empty is stored as is)."""

    def get_prep_lookup(self) -> Any:
        if self.rhs is not None and self.rhs != "":  # None: Django turns it into isnull
            raise FieldError(
                "Encrypted fields support only isnull and exact '' lookups; "
                "look values up through their blind index field."
            )
        return super().get_prep_lookup()


class EncryptedTextField(models.TextField):
    """A text field stored encrypted (Fernet token); in Python it is the plain str.

    ``""`` is stored as ``""`` (not encrypted) and ``None`` as NULL, so blank checks stay
    cheap. Since each encryption is randomised, the database cannot compare, search or
    sort these values: the only lookups are ``isnull`` and ``exact=""``; any other lookup
    raises :class:`~django.core.exceptions.FieldError`. Exact lookups of a value go
    through a separate blind index column (:func:`blind_index`). Ordering by this field
    orders by ciphertext, which is meaningless.
    """

    description = _("Text encrypted at rest")

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value: Any) -> str | None:
        # Values in Python (forms, fixtures, assignments) are always plaintext; so is
        # what dumpdata writes, since serialisation reads the Python value.
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return _EmptyOnlyExact
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def get_transform(self, lookup_name: str) -> Any:
        return None


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every concrete model with encrypted columns, and the names of those fields.

    Only the model that owns the table is listed (no proxies, and a multi-table child
    lists only its own fields), so that each column appears exactly once.
    """
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        names = [
            field.name
            for field in model._meta.local_concrete_fields
            if isinstance(field, EncryptedTextField)
        ]
        if names:
            found.append((model, names))
    return found


# --- Rotation and checking --------------------------------------------------------------


def _label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.object_name}"


class _RawTable:
    """Raw SQL access to the encrypted columns of one model, bypassing ``from_db_value``."""

    def __init__(self, model: type[models.Model], names: list[str]) -> None:
        self.alias = router.db_for_write(model)
        self.connection = connections[self.alias]
        qn = self.connection.ops.quote_name
        meta = model._meta
        self.table = qn(meta.db_table)
        self.pk = qn(meta.pk.column)
        self.columns = [qn(meta.get_field(name).column) for name in names]

    def fetch(self, after: Any, batch_size: int) -> list[tuple[Any, ...]]:
        """The next ``batch_size`` rows ``(pk, *values)`` with a primary key above ``after``."""
        where, params = ("", []) if after is None else (f" WHERE {self.pk} > %s", [after])
        sql = (
            f"SELECT {self.pk}, {', '.join(self.columns)} FROM {self.table}{where} "
            f"ORDER BY {self.pk} LIMIT {int(batch_size)}"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


def rotate_all(batch_size: int = 1000) -> dict[str, int]:
    """Re-encrypt every stored value that is not yet under the primary key.

    Returns the number of values rewritten per ``"app_label.Model"``. Rows are handled in
    batches by primary key, each batch in its own transaction, with raw SQL that updates
    only the encrypted columns (``updated_at`` and the like are left alone). A value is
    rewritten only if it is unchanged since it was read, so a concurrent edit is never
    overwritten. Re-running is safe: values already under the primary key are skipped.
    Raises :class:`DecryptionError` (naming model, field and primary key, never the
    value) for a value that no configured key decrypts; batches already done stay done.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ring = _keys()
    counts: dict[str, int] = {}
    for model, names in encrypted_fields():
        raw = _RawTable(model, names)
        rewritten = 0
        after: Any = None
        while True:
            with transaction.atomic(using=raw.alias):
                rows = raw.fetch(after, batch_size)
                updates: dict[str, list[tuple[str, Any, str]]] = {}
                for pk, *tokens in rows:
                    for name, column, token in zip(names, raw.columns, tokens, strict=True):
                        if not token:
                            continue
                        new = _rotated(ring, token)
                        if new is None:
                            raise DecryptionError(
                                f"{_label(model)}.{name} of primary key {pk} cannot be "
                                "decrypted with any of the configured GROUPCRM_FIELD_KEYS"
                            )
                        if new != token:
                            updates.setdefault(column, []).append((new, pk, token))
                with raw.connection.cursor() as cursor:
                    for column, params in updates.items():
                        cursor.executemany(
                            f"UPDATE {raw.table} SET {column} = %s "
                            f"WHERE {raw.pk} = %s AND {column} = %s",
                            params,
                        )
                        rewritten += len(params)
            if len(rows) < batch_size:
                break
            after = rows[-1][0]
        counts[_label(model)] = rewritten
    return counts


def _rotated(ring: _Keyring, token: str) -> str | None:
    """``token`` itself if under the primary key, else re-encrypted; None if undecryptable."""
    try:
        raw = token.encode("ascii")
    except UnicodeError:
        return None
    try:
        ring.primary.decrypt(raw)
        return token
    except InvalidToken:
        pass
    try:
        return ring.multi.rotate(raw).decode("ascii")
    except InvalidToken:
        return None


@dataclass
class CheckResult:
    """Outcome of :func:`check_all` for one model."""

    values: int = 0  # non-empty encrypted values read
    failed: int = 0  # values that no configured key decrypts
    older_key: int = 0  # values that decrypt, but only with a key other than the primary


def check_all(batch_size: int = 1000) -> dict[str, CheckResult]:
    """Try to decrypt every stored value with the configured keys, per ``"app.Model"``."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ring = _keys()
    results: dict[str, CheckResult] = {}
    for model, names in encrypted_fields():
        raw = _RawTable(model, names)
        result = CheckResult()
        after: Any = None
        while True:
            rows = raw.fetch(after, batch_size)
            for token in (value for row in rows for value in row[1:] if value):
                result.values += 1
                try:
                    data = token.encode("ascii")
                except UnicodeError:
                    result.failed += 1
                    continue
                try:
                    ring.primary.decrypt(data)
                    continue
                except InvalidToken:
                    pass
                try:
                    ring.multi.decrypt(data)
                    result.older_key += 1
                except InvalidToken:
                    result.failed += 1
            if len(rows) < batch_size:
                break
            after = rows[-1][0]
        results[_label(model)] = result
    return results


# --- Masking ----------------------------------------------------------------------------

_CN_MOBILE = re.compile(r"1\d{10}")


def mask_phone(value: str | None) -> str:
    """``+8613800138000`` → ``138****8000``; other numbers keep only their last 4 digits.

    A Chinese mobile (with or without +86 / 0086 / 86) shows its national number with the
    first 3 and last 4 digits. Any other number becomes ``*`` for every digit but the
    last 4; a number of 7 digits or fewer keeps at most half of its digits.
    """
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if not digits:
        return mask_text(value)
    national = digits
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and _CN_MOBILE.fullmatch(digits[len(prefix) :]):
            national = digits[len(prefix) :]
            break
    if _CN_MOBILE.fullmatch(national):
        return f"{national[:3]}****{national[-4:]}"
    keep = min(4, len(digits) // 2)
    return "*" * (len(digits) - keep) + digits[len(digits) - keep :]


def mask_email(value: str | None) -> str:
    """``zhang.san@example.com`` → ``z***@example.com`` (the domain stays readable)."""
    if not value:
        return ""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return mask_text(value)
    return f"{local[:1]}***@{domain}"


def mask_text(value: str | None) -> str:
    """First character and ``***``: ``wxid_abc123`` → ``w***`` (WeChat ids and the like)."""
    if not value:
        return ""
    value = value.strip()
    return f"{value[:1]}***" if value else ""


def mask_id_number(value: str | None) -> str:
    """Resident id number: first and last character, the rest masked.

    ``110101199003071234`` → ``1****************4`` (length kept).
    """
    if not value:
        return ""
    value = value.strip()
    if len(value) <= 2:
        return "*" * len(value)
    return f"{value[0]}{'*' * (len(value) - 2)}{value[-1]}"
