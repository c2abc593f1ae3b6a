#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <memory>
#include <optional>

struct evp_pkey_st;

namespace kvdesk::crypto {

struct PkeyDeleter
{
    void operator()(evp_pkey_st *key) const;
};
using Pkey = std::unique_ptr<evp_pkey_st, PkeyDeleter>;

// Equality of two secrets in time that depends on neither their contents nor their lengths.
bool constantTimeEquals(QByteArrayView a, QByteArrayView b);
// Equal, in a time that depends only on the length (and says only whether the lengths differ).
bool constantTimeSameSize(QByteArrayView a, QByteArrayView b);

// SHA-256 of data.
QByteArray sha256(QByteArrayView data);
// Whether data's SHA-256 equals digest, in constant time.
bool digestEquals(QByteArrayView data, QByteArrayView digest);

// HMAC with SHA-256/384/512 (digestBits), or empty on failure.
QByteArray hmac(int digestBits, QByteArrayView key, QByteArrayView data);

// Strict base64url (no padding, no other alphabet).
std::optional<QByteArray> base64UrlDecode(QByteArrayView text);
QByteArray base64UrlEncode(QByteArrayView data);
// Bytes from OpenSSL's cryptographically secure generator.
QByteArray randomBytes(int count);

// Public keys from the fields of a JWK (already base64url-decoded).
Pkey rsaPublicKey(const QByteArray &modulus, const QByteArray &exponent);
Pkey ecPublicKey(const QByteArray &curve, const QByteArray &x,
                 const QByteArray &y); // curve "P-256" / "P-384"

// RSASSA-PKCS1-v1_5 signature check.
bool verifyRsa(evp_pkey_st *key, int digestBits, QByteArrayView data, QByteArrayView signature);
// ECDSA check of a JWS signature (r || s, each coordinateBytes long).
bool verifyEcdsa(evp_pkey_st *key, int digestBits, int coordinateBytes, QByteArrayView data,
                 QByteArrayView signature);

// Bits of the key (RSA modulus size, EC group size).
int keyBits(evp_pkey_st *key);

} // namespace kvdesk::crypto
