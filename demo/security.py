"""Password hashing and session tokens for the demo service.

Passwords are stored as PBKDF2-SHA256 strings (``pbkdf2_sha256$ITER$SALT$HASH``).
The iteration count is deliberately modest so sign-in costs about a millisecond
of CPU: enough to be a real cost under load, not enough to dominate a campaign.
"""

import hashlib
import hmac
import secrets

ITERATIONS = 2_000
_ALGORITHM = "pbkdf2_sha256"


def hash_password(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{_ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algorithm, iterations, salt_hex, digest_hex = stored.split("$")
        if algorithm != _ALGORITHM:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt_hex), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


# Verified against when the email is unknown, so both failure paths cost the same.
DUMMY_HASH = hash_password("not-a-real-password", b"\x00" * 16)


def new_token() -> str:
    return secrets.token_urlsafe(32)
