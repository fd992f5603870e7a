"""PII at rest: encryption with rotating keys, blind indexes, masking, `groupcrm keys`."""

import base64
import io
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.test import override_settings
from django.utils import translation

from groupcrm.core import pii
from groupcrm.core.pii import EncryptedTextField

# Fixed keys: test ids must not change between runs (pytest-xdist compares them).
KEY_A, KEY_B, KEY_C = (base64.urlsafe_b64encode(bytes([n]) * 32).decode() for n in (1, 2, 3))


@pytest.fixture(autouse=True)
def _fresh_keys() -> Iterator[None]:
    pii.reset_keys()
    yield
    pii.reset_keys()


# --- Encryption and keys ----------------------------------------------------------------


@override_settings(GROUPCRM_FIELD_KEYS=[KEY_A])
@pytest.mark.parametrize("text", ["13800138000", "张三 zhang.san@example.com", "🙂", " x "])
def test_round_trip(text: str) -> None:
    token = pii.encrypt(text)
    assert pii.decrypt(token) == text
    assert text not in token


@override_settings(GROUPCRM_FIELD_KEYS=[KEY_A])
def test_each_encryption_differs() -> None:
    assert pii.encrypt("13800138000") != pii.encrypt("13800138000")


def test_rotated_key_list_decrypts_old_and_encrypts_with_first_key() -> None:
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_A]):
        old = pii.encrypt("secret")
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_B, KEY_A]):
        assert pii.decrypt(old) == "secret"
        new = pii.encrypt("secret")
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_B]):
        assert pii.decrypt(new) == "secret"  # the new value needs only the first key
        with pytest.raises(pii.DecryptionError, match="GROUPCRM_FIELD_KEYS"):
            pii.decrypt(old)


def test_reset_keys_picks_up_changed_settings(settings) -> None:
    settings.GROUPCRM_FIELD_KEYS = [KEY_A]
    token = pii.encrypt("x")
    settings.GROUPCRM_FIELD_KEYS = [KEY_C]  # setting_changed resets the cached keys
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(token)


def test_decrypting_garbage_is_a_decryption_error() -> None:
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_A]):
        for garbage in ["not a token", "gAAAAA", "令牌"]:
            with pytest.raises(pii.DecryptionError):
                pii.decrypt(garbage)


@pytest.mark.parametrize("bad", ["short", KEY_A[:-4], "x" * 44, KEY_A + "AAAA", KEY_A[:-1] + "!"])
def test_malformed_key_is_improperly_configured_without_the_key(bad: str) -> None:
    with (
        override_settings(GROUPCRM_FIELD_KEYS=[KEY_A, bad]),
        pytest.raises(ImproperlyConfigured) as excinfo,
    ):
        pii.encrypt("x")
    message = str(excinfo.value)
    assert "GROUPCRM_FIELD_KEYS" in message and "key 2 of 2" in message
    assert bad not in message and KEY_A not in message
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


def test_without_configured_keys_a_key_file_is_made_once(tmp_path: Path) -> None:
    with override_settings(GROUPCRM_FIELD_KEYS=[], VAR_DIR=tmp_path):
        token = pii.encrypt("dev")
        path = tmp_path / "field_keys"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        key = path.read_text().strip()
        Fernet(key)  # a valid key
        pii.reset_keys()
        assert pii.decrypt(token) == "dev"
        assert path.read_text().strip() == key
    # Moving to configured keys: the generated key goes into the list.
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_A, key]):
        assert pii.decrypt(token) == "dev"


def test_broken_key_file_is_improperly_configured(tmp_path: Path) -> None:
    (tmp_path / "field_keys").write_text("garbage\n")
    with (
        override_settings(GROUPCRM_FIELD_KEYS=[], VAR_DIR=tmp_path),
        pytest.raises(ImproperlyConfigured, match="GROUPCRM_FIELD_KEYS"),
    ):
        pii.encrypt("x")


# --- Blind index ------------------------------------------------------------------------


def test_blind_index_is_stable_across_key_rotation() -> None:
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_A]):
        before = pii.blind_index("mobile", "+8613800138000")
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_B, KEY_A]):
        assert pii.blind_index("mobile", "+8613800138000") == before
    assert len(before) == 32 and int(before, 16) >= 0


def test_blind_index_depends_on_kind_value_and_index_key() -> None:
    mobile = pii.blind_index("mobile", "13800138000")
    assert mobile == pii.blind_index("mobile", "13800138000")
    assert mobile != pii.blind_index("email", "13800138000")
    assert mobile != pii.blind_index("mobile", "13800138001")
    # No ambiguity between where the kind ends and the value begins.
    assert pii.blind_index("ab", "c") != pii.blind_index("a", "bc")
    with override_settings(GROUPCRM_INDEX_KEY="i" * 40):
        configured = pii.blind_index("mobile", "13800138000")
        assert configured != mobile
        with override_settings(GROUPCRM_FIELD_KEYS=[KEY_C]):
            assert pii.blind_index("mobile", "13800138000") == configured
    assert pii.blind_index("mobile", "13800138000") == mobile


def test_blind_index_of_empty_is_empty_and_bad_kind_refused() -> None:
    assert pii.blind_index("email", "") == ""
    with pytest.raises(ValueError):
        pii.blind_index("", "x")


def test_short_index_key_is_improperly_configured() -> None:
    with (
        override_settings(GROUPCRM_INDEX_KEY="too-short"),
        pytest.raises(ImproperlyConfigured, match="GROUPCRM_INDEX_KEY") as excinfo,
    ):
        pii.blind_index("mobile", "1")
    assert "too-short" not in str(excinfo.value)


# --- Masking ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+8613800138000", "138****8000"),
        ("13800138000", "138****8000"),
        ("+86 138-0013-8000", "138****8000"),
        ("008613800138000", "138****8000"),
        ("+85291234567", "*******4567"),
        ("010-12345678", "*******5678"),
        ("12345", "***45"),
        ("", ""),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert pii.mask_phone(value) == masked


def test_mask_email_text_and_id_number() -> None:
    assert pii.mask_email("zhang.san@example.com") == "z***@example.com"
    assert pii.mask_email("not-an-email") == "n***"
    assert pii.mask_email("") == ""
    assert pii.mask_text("wxid_zhangsan") == "w***"
    assert pii.mask_text("张三丰") == "张***"
    assert pii.mask_text("") == ""
    assert pii.mask_id_number("11010119900307123X") == "1" + "*" * 16 + "X"
    assert pii.mask_id_number("") == ""


# --- The model field --------------------------------------------------------------------


def test_field_deconstructs_cleanly() -> None:
    _name, path, args, kwargs = EncryptedTextField(blank=True).deconstruct()
    assert path == "groupcrm.core.pii.EncryptedTextField"
    assert args == [] and kwargs == {"blank": True}


def test_field_python_values_are_plaintext() -> None:
    field = EncryptedTextField()
    assert field.to_python("x") == "x" and field.to_python(None) is None
    assert field.to_python(12) == "12"
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_A]):
        assert field.get_prep_value("") == "" and field.get_prep_value(None) is None
        assert pii.decrypt(field.get_prep_value("x")) == "x"
        assert field.from_db_value(pii.encrypt("y"), None, connection) == "y"
        assert field.from_db_value("", None, connection) == ""
        assert field.from_db_value(None, None, connection) is None


@pytest.fixture
def secret_model(transactional_db: None) -> Iterator[type[models.Model]]:
    """A throwaway model with encrypted fields, registered and with a table only for a test.

    Unregistered afterwards, so that neither `makemigrations --check` nor other tests of
    `rotate_all` / `keys check` ever see it.
    """

    class PiiSecret(models.Model):
        label = models.CharField(max_length=20)
        secret = EncryptedTextField(blank=True, null=True)
        other = EncryptedTextField(blank=True, default="")
        updated_at = models.DateTimeField(null=True)

        class Meta:
            app_label = "core"
            managed = False
            db_table = "test_pii_secret"

        def __str__(self) -> str:
            return self.label

    with connection.schema_editor() as editor:
        editor.create_model(PiiSecret)
    try:
        yield PiiSecret
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(PiiSecret)
        del apps.all_models["core"]["piisecret"]
        apps.clear_cache()
        assert PiiSecret not in apps.get_models()


def _raw(model: type[models.Model]) -> dict[str, tuple[str | None, str]]:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn('label')}, {qn('secret')}, {qn('other')} FROM {qn(model._meta.db_table)}"
        )
        return {label: (secret, other) for label, secret, other in cursor.fetchall()}


def test_field_round_trip_through_the_database(secret_model) -> None:
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_A]):
        secret_model.objects.create(label="full", secret="13800138000", other="张三")
        secret_model.objects.create(label="empty", secret="", other="")
        secret_model.objects.create(label="null", secret=None)
        raw = _raw(secret_model)
        assert raw["full"][0] != "13800138000" and "13800138000" not in raw["full"][0]
        assert pii.decrypt(raw["full"][0]) == "13800138000"
        assert raw["empty"] == ("", "") and raw["null"] == (None, "")
        loaded = {obj.label: obj for obj in secret_model.objects.all()}
        assert loaded["full"].secret == "13800138000" and loaded["full"].other == "张三"
        assert loaded["empty"].secret == "" and loaded["null"].secret is None
        assert list(secret_model.objects.filter(label="full").values_list("secret")) == [
            ("13800138000",)
        ]
        # update(), bulk_create() and bulk_update() encrypt too.
        secret_model.objects.filter(label="empty").update(secret="new")
        assert pii.decrypt(_raw(secret_model)["empty"][0]) == "new"
        secret_model.objects.bulk_create([secret_model(label="bulk", secret="b")])
        null = secret_model.objects.get(label="null")
        null.secret = "was null"
        secret_model.objects.bulk_update([null], ["secret"])
        raw = _raw(secret_model)
        assert pii.decrypt(raw["bulk"][0]) == "b" and pii.decrypt(raw["null"][0]) == "was null"


def test_field_lookups_are_limited(secret_model) -> None:
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_A]):
        secret_model.objects.create(label="full", secret="x")
        secret_model.objects.create(label="empty", secret="")
        secret_model.objects.create(label="null", secret=None)
        objects = secret_model.objects
        assert [o.label for o in objects.filter(secret="")] == ["empty"]
        assert [o.label for o in objects.filter(secret=None)] == ["null"]
        assert [o.label for o in objects.filter(secret__isnull=True)] == ["null"]
        assert sorted(o.label for o in objects.exclude(secret="")) == ["full", "null"]
        with pytest.raises(FieldError, match="blind index"):
            objects.filter(secret="x")
        for lookup in ["secret__icontains", "secret__in", "secret__startswith", "secret__gt"]:
            with pytest.raises(FieldError):
                objects.filter(**{lookup: "x"})


def test_encrypted_fields_lists_the_model(secret_model) -> None:
    assert (secret_model, ["secret", "other"]) in pii.encrypted_fields()


def _keys(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_rotate_all_and_keys_check(secret_model) -> None:
    label = "core.PiiSecret"
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_A]):
        for number in range(5):
            secret_model.objects.create(
                label=f"r{number}", secret=f"1380013800{number}", other="" if number else "o"
            )
        secret_model.objects.create(label="null", secret=None)
        secret_model.objects.filter(label="r1").update(updated_at="2020-01-02T03:04:05Z")
        before = _raw(secret_model)
        stamp = secret_model.objects.get(label="r1").updated_at

    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_B, KEY_A]):
        out, _err = _keys("check")
        assert "6 value(s) checked, 0 cannot be decrypted, 6 still need an older key" in out
        with pytest.raises(CommandError):
            _keys("check", "--strict")

        assert pii.rotate_all(batch_size=2)[label] == 6
        after = _raw(secret_model)
        assert after["null"] == (None, "") and after["r1"][1] == ""
        for name in before:
            for old, new in zip(before[name], after[name], strict=True):
                assert (old == new) if not old else (old != new)
        assert secret_model.objects.get(label="r1").updated_at == stamp
        # Idempotent: nothing left to re-encrypt.
        assert pii.rotate_all(batch_size=2)[label] == 0
        assert _raw(secret_model) == after

    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_B]):  # old key removed
        values = sorted(secret_model.objects.exclude(secret=None).values_list("secret", "other"))
        assert values == [(f"1380013800{n}", "" if n else "o") for n in range(5)]
        out, _err = _keys("check", "--strict")
        assert "6 value(s) checked, 0 cannot be decrypted, 0 still need an older key" in out

    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_C]):  # the wrong key
        with pytest.raises(CommandError, match="6 of 6"):
            _keys("check")
        with pytest.raises(CommandError, match="cannot be decrypted"):
            _keys("rotate")


def test_keys_rotate_command_prints_counts(secret_model) -> None:
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_A]):
        secret_model.objects.create(label="a", secret="x", other="y")
    with override_settings(GROUPCRM_FIELD_KEYS=[KEY_B, KEY_A]):
        out, _err = _keys("rotate", "--batch-size", "1")
    assert "core.PiiSecret: 2 value(s) re-encrypted" in out


def test_keys_generate_prints_a_key_alone_on_stdout() -> None:
    out, err = _keys("generate")
    Fernet(out.strip())
    assert out.strip() != _keys("generate")[0].strip()
    assert "GROUPCRM_FIELD_KEYS" in err and "keys rotate" in err


def test_keys_command_reports_a_malformed_key() -> None:
    with (
        override_settings(GROUPCRM_FIELD_KEYS=["nope"]),
        pytest.raises(CommandError, match="GROUPCRM_FIELD_KEYS"),
    ):
        _keys("check")
