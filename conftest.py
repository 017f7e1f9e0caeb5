import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Hashing with the real PBKDF2 costs ~0.3 s per login; tests only need it to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
