"""An independent check of ohx's XEdDSA test vectors.

Reads JSON vectors on stdin ([{secret, message, recipient, edwards, signature}], hex) and checks,
for each, with code that shares nothing with ohx's Rust implementation:

1. the recipient is the X25519 public key of the secret (Python `cryptography`);
2. the Edwards key is Signal's convert_mont of the recipient (plain integer arithmetic below);
3. the signature verifies as Ed25519 under that key (Python `cryptography`);
4. the signature is exactly what XEdDSA with ohx's deterministic nonce gives (integer arithmetic
   below, following Signal's XEdDSA specification and RFC 8032).

Prints "ok N" on success; raises (exit status 1) on the first mismatch.
"""

import hashlib
import json
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
HASH1_PREFIX = bytes([0xFE]) + bytes([0xFF] * 31)
NONCE_KEY_LABEL = b"ohx xeddsa nonce key v1"


def inv(x):
    return pow(x, P - 2, P)


def recover_x(y, sign):
    x2 = (y * y - 1) * inv(D * y * y + 1) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        raise ValueError("not on the curve")
    if x & 1 != sign:
        x = P - x
    return x


BY = 4 * inv(5) % P
BX = recover_x(BY, 0)
BASE = (BX, BY, 1, BX * BY % P)


def add(p1, p2):
    a = (p1[1] - p1[0]) * (p2[1] - p2[0]) % P
    b = (p1[1] + p1[0]) * (p2[1] + p2[0]) % P
    c = 2 * p1[3] * p2[3] * D % P
    d = 2 * p1[2] * p2[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def mul(s, point):
    result = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = add(result, point)
        point = add(point, point)
        s >>= 1
    return result


def compress(point):
    zinv = inv(point[2])
    x, y = point[0] * zinv % P, point[1] * zinv % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def clamp(secret):
    k = bytearray(secret)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return int.from_bytes(k, "little")


def convert_mont(u_bytes):
    u = int.from_bytes(u_bytes, "little") & ((1 << 255) - 1)
    y = (u - 1) * inv(u + 1) % P
    return y.to_bytes(32, "little")


def xeddsa_sign(secret, message):
    k = clamp(secret)
    e = compress(mul(k, BASE))
    negative = e[31] >> 7
    a_point = e[:31] + bytes([e[31] & 0x7F])
    a = (-k) % Q if negative else k % Q
    nonce_key = hashlib.sha512(HASH1_PREFIX + a.to_bytes(32, "little") + NONCE_KEY_LABEL).digest()[:32]
    r = int.from_bytes(hashlib.sha512(nonce_key + message).digest(), "little") % Q
    big_r = compress(mul(r, BASE))
    h = int.from_bytes(hashlib.sha512(big_r + a_point + message).digest(), "little") % Q
    s = (r + h * a) % Q
    return a_point, big_r + s.to_bytes(32, "little")


def check(vector):
    secret = bytes.fromhex(vector["secret"])
    message = bytes.fromhex(vector["message"])
    recipient = bytes.fromhex(vector["recipient"])
    edwards = bytes.fromhex(vector["edwards"])
    signature = bytes.fromhex(vector["signature"])
    # public_bytes(Raw, Raw) rather than public_bytes_raw(), which older releases (Debian's) lack.
    public = X25519PrivateKey.from_private_bytes(secret).public_key()
    x25519 = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert x25519 == recipient, f"recipient: cryptography gives {x25519.hex()}"
    assert convert_mont(recipient) == edwards, f"convert_mont gives {convert_mont(recipient).hex()}"
    Ed25519PublicKey.from_public_bytes(edwards).verify(signature, message)
    a_point, expected = xeddsa_sign(secret, message)
    assert a_point == edwards, f"calculate_key_pair gives {a_point.hex()}"
    assert expected == signature, f"xeddsa_sign gives {expected.hex()}"


vectors = json.load(sys.stdin)
for v in vectors:
    check(v)
print(f"ok {len(vectors)}")
