"""Signer receipts: a code each confirmed signer gets, that shows their signature is counted.

The code is an HMAC of the signature's id under SECRET_KEY, so nothing stores it: the signature
keeps only its SHA-256 (what /verify looks up, and what the published digests are made of).
Without the key nobody can make a code, or tell from one whose signature it is; the code says
nothing about the signer (it is not made from their address, name or anything they typed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from petition.security.keys import signing_keys

LENGTH = 20  # characters of base32: 100 bits
GROUP = 4


def receipt_code(signature_id: int, key: str | None = None) -> str:
    """The receipt code of a signature, as readers see it: ABCD-EFGH-JKLM-NPQR-STUV."""
    key = key or signing_keys()[-1]
    mac = hmac.new(key.encode(), f"receipt:{signature_id}".encode(), hashlib.sha256).digest()
    text = base64.b32encode(mac).decode()[:LENGTH]
    return "-".join(text[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def receipt_hash(code: str) -> str:
    """What is stored and published of a code (forgiving of case, spaces and dashes)."""
    return hashlib.sha256(normalised(code).encode()).hexdigest()


def normalised(code: str) -> str:
    """A code as typed, reduced to its characters; 0 and 1 read as O and I (not in base32)."""
    letters = "".join(code.split()).replace("-", "").upper()
    return letters.translate(str.maketrans("01", "OI"))


def code_for(signature_id: int, stored_hash: str | None) -> str | None:
    """The code behind a signature's stored hash (made under the current key or, while it is
    being rotated, an older one); None when it has no receipt."""
    if not stored_hash:
        return None
    for key in reversed(signing_keys()):
        code = receipt_code(signature_id, key)
        if hmac.compare_digest(receipt_hash(code), stored_hash):
            return code
    return None


def looks_like_a_code(code: str) -> bool:
    letters = normalised(code)
    return len(letters) == LENGTH and all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in letters)
